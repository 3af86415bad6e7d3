/**
 * Prometheus metrics of one scoring service (prom-client, its own registry so that two
 * services in one process do not collide): requests by route and status, requests in flight, latency,
 * batch sizes, queue depth, the model's version and backend, reloads.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

import type { ModelService } from "./service";

export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<"route" | "status">;
  /** Requests whose headers have arrived and whose answer has not yet been sent or dropped. */
  inFlight: Gauge<"route">;
  latency: Histogram<"route">;
  batchRequests: Histogram;
  candidates: Counter;
  reloads: Counter<"result">;
  disconnects: Counter;
  /** The scorer's onBatch hook. */
  onBatch(b: { requests: number; candidates: number }): void;
}

export function serviceMetrics(service: () => ModelService | undefined, maxBatch: number, processMetrics = true): ServiceMetrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });
  const batchBuckets: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) batchBuckets.push(b);
  batchBuckets.push(maxBatch);
  const m: ServiceMetrics = {
    registry,
    requests: new Counter({ name: "dien_http_requests_total", help: "HTTP requests by route and status code", labelNames: ["route", "status"], registers: [registry] }),
    inFlight: new Gauge({ name: "dien_http_requests_in_flight", help: "HTTP requests received and not yet answered, by route", labelNames: ["route"], registers: [registry] }),
    latency: new Histogram({
      name: "dien_http_request_duration_seconds",
      help: "HTTP request latency by route",
      labelNames: ["route"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    batchRequests: new Histogram({ name: "dien_batch_requests", help: "Requests merged into one native call", buckets: batchBuckets, registers: [registry] }),
    candidates: new Counter({ name: "dien_scored_candidates_total", help: "Candidates scored", registers: [registry] }),
    reloads: new Counter({ name: "dien_model_reloads_total", help: "Model reloads by result (ok, rejected)", labelNames: ["result"], registers: [registry] }),
    disconnects: new Counter({ name: "dien_client_disconnects_total", help: "Clients that closed the connection before their answer (a queued request is then dropped)", registers: [registry] }),
    onBatch(b) {
      m.batchRequests.observe(b.requests);
      m.candidates.inc(b.candidates);
    },
  };
  new Gauge({
    name: "dien_queue_depth",
    help: "Requests waiting for the next native call",
    registers: [registry],
    collect() {
      this.set(service()?.queued ?? 0);
    },
  });
  new Gauge({
    name: "dien_model_info",
    help: "The model being served (value 1): its version (weight file SHA-256 prefix), zoo model and backend",
    labelNames: ["version", "model", "backend"],
    registers: [registry],
    collect() {
      this.reset();
      const s = service()?.current;
      if (s) this.set({ version: s.version, model: s.model.config.model, backend: s.model.info().backend }, 1);
    },
  });
  return m;
}
