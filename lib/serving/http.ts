/**
 * The scoring service as a fastify plugin: POST /v1/score, GET /healthz, /readyz and
 * /metrics, and POST /admin/reload when an admin token is set. An existing backend
 * registers it in one line:
 *
 *   await app.register(dienPlugin, { weights: "model.safetensors", prefix: "/dien" });
 *
 * Requests are checked by JSON schema (sizes, types) and then against the model (id
 * ranges, vocabularies); every 400 names the field. A full queue is a 503 with
 * Retry-After. The plugin is encapsulated: its error handler and validator touch only
 * its own routes.
 */
import { timingSafeEqual } from "node:crypto";
import { STATUS_CODES } from "node:http";

import Ajv, { type ErrorObject } from "ajv";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { DienError } from "../errors";
import { DienModel, type EngineOptions } from "../model";
import type { ScoreRequest } from "../types";
import { type ServiceMetrics, serviceMetrics } from "./metrics";
import { SCORE_OWNED, type ScorerOptions } from "./scorer";

/** The rejection of a request whose client closed the connection: answered by nobody, logged by nobody. */
class ClientGone extends Error {}
import { ModelService, type Served } from "./service";

export interface ServeLimits {
  /** Candidates per request (default 1000). */
  maxCandidates?: number;
  /** History entries per request (default 1000); the most recent maxLen are used. */
  maxHistory?: number;
  /** Request body size in bytes (default 1 MiB); larger bodies get 413. */
  maxBodyBytes?: number;
}

export interface DienPluginOptions {
  /** The weight file to serve (reloadable), or... */
  weights?: string;
  /** ...a model the caller owns (not reloadable from a file, not disposed by the plugin). */
  model?: DienModel;
  /** Or a service built by the caller (lib/serving/service.ts); the plugin closes it on close. */
  service?: ModelService;
  engine?: EngineOptions;
  scorer?: Omit<ScorerOptions, "onBatch">;
  limits?: ServeLimits;
  /** Enables POST /admin/reload with `Authorization: Bearer <token>`. */
  adminToken?: string;
  /** Seconds a 503 asks the client to wait (default 1). */
  retryAfterSeconds?: number;
  /** Include Node's process metrics in /metrics (default true). */
  processMetrics?: boolean;
  /** Called after a reload attempt (SIGHUP or /admin/reload) with the new version or the error. */
  onReload?: (result: { version?: string; error?: Error }) => void;
}

/** What the plugin adds to the fastify instance it is registered in (inside its scope). */
export interface DienServing {
  service: ModelService;
  metrics: ServiceMetrics;
  /** Reloads the weight file, counting the result in /metrics. */
  reload(path?: string): Promise<Served>;
}

const ID = { anyOf: [{ type: "integer", minimum: 0, maximum: 2147483647 }, { type: "string", minLength: 1, maxLength: 1024 }] };

export function scoreBodySchema(limits: Required<ServeLimits>): object {
  return {
    type: "object",
    required: ["history", "candidates"],
    additionalProperties: false,
    properties: {
      user: ID,
      history: {
        type: "object",
        required: ["items", "cats"],
        additionalProperties: false,
        properties: { items: { type: "array", maxItems: limits.maxHistory, items: ID }, cats: { type: "array", maxItems: limits.maxHistory, items: ID } },
      },
      candidates: {
        type: "array",
        minItems: 1,
        maxItems: limits.maxCandidates,
        items: { type: "object", required: ["item", "cat"], additionalProperties: false, properties: { item: ID, cat: ID } },
      },
    },
  };
}

// Serialised by fast-json-stringify (fastify compiles response schemas).
const SCORE_RESPONSE = {
  type: "object",
  properties: { scores: { type: "array", items: { type: "number" } }, model: { type: "string" } },
};

interface ScoreBody {
  user?: number | string;
  history: { items: (number | string)[]; cats: (number | string)[] };
  candidates: { item: number | string; cat: number | string }[];
}

/** "/candidates/3/item" -> "body.candidates[3].item" */
function fieldOf(instancePath: string, extra?: string): string {
  let f = "body";
  for (const part of instancePath.split("/").slice(1)) f += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  return extra ? `${f}.${extra}` : f;
}

/** One clear sentence from ajv's errors: the deepest failure, ids described as such. */
export function schemaMessage(errors: ErrorObject[]): string {
  const deepest = errors.reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
  const at = errors.filter((e) => e.instancePath === deepest.instancePath);
  if (at.some((e) => e.keyword === "anyOf")) return `${fieldOf(deepest.instancePath)}: expected an id (an integer >= 0 or a non-empty string)`;
  const e = at[0]!;
  switch (e.keyword) {
    case "required":
      return `${fieldOf(e.instancePath, String(e.params.missingProperty))}: is required`;
    case "additionalProperties":
      return `${fieldOf(e.instancePath, String(e.params.additionalProperty))}: is not a known field`;
    case "maxItems":
      return `${fieldOf(e.instancePath)}: at most ${String(e.params.limit)} entries are accepted`;
    case "minItems":
      return `${fieldOf(e.instancePath)}: at least ${String(e.params.limit)} entry is required`;
    default:
      return `${fieldOf(e.instancePath)}: ${e.message ?? "is invalid"}`;
  }
}

class BadRequest extends Error {}

/** The body of every error answer: fastify's own shape. */
export function errorBody(statusCode: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode, error: STATUS_CODES[statusCode] ?? "Error", message };
}

/** Integer rows pass if in range; strings go through the model's vocabulary (unknown -> row 0). */
function rows(field: (i: number) => string, ids: readonly (number | string)[], vocab: number, strings: { encode(t: readonly string[]): Int32Array } | undefined): Int32Array {
  const out = new Int32Array(ids.length);
  // String ids are encoded together: one call into a loaded model's native index per field.
  const at: number[] = [];
  const tokens: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (typeof id === "number") {
      if (id >= vocab) throw new BadRequest(`${field(i)}: id ${id} is outside [0, ${vocab})`);
      out[i] = id;
    } else {
      if (!strings) throw new BadRequest(`${field(i)}: string ids need a model file with vocabularies; this one has none, so send integer rows`);
      at.push(i);
      tokens.push(id);
    }
  }
  if (tokens.length > 0) {
    const encoded = strings!.encode(tokens);
    for (let k = 0; k < at.length; k++) out[at[k]!] = encoded[k]!;
  }
  return out;
}

/** The JSON body as a ScoreRequest for model m. */
export function toScoreRequest(body: ScoreBody, m: DienModel): ScoreRequest {
  const c = m.config;
  const v = m.vocab;
  const h = body.history;
  if (h.items.length !== h.cats.length) throw new BadRequest(`body.history.cats: expected ${h.items.length} entries (one per history item) but got ${h.cats.length}`);
  const keep = Math.max(0, h.items.length - c.maxLen); // the most recent maxLen behaviours
  const request: ScoreRequest = {
    history: {
      histItem: rows((i) => `body.history.items[${i}]`, h.items, c.itemVocab, v?.items).subarray(keep),
      histCat: rows((i) => `body.history.cats[${i}]`, h.cats, c.catVocab, v?.cats).subarray(keep),
    },
    candidates: {
      items: rows((i) => `body.candidates[${i}].item`, body.candidates.map((x) => x.item), c.itemVocab, v?.items),
      cats: rows((i) => `body.candidates[${i}].cat`, body.candidates.map((x) => x.cat), c.catVocab, v?.cats),
    },
  };
  if (c.userVocab > 0) {
    if (body.user === undefined) throw new BadRequest("body.user: the model has a user field, so a user id is required");
    request.history.user = rows(() => "body.user", [body.user], c.userVocab, v?.users)[0]!;
  } else if (body.user !== undefined) {
    throw new BadRequest("body.user: this model has no user field; leave user out");
  }
  return request;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith("Bearer ")) return false;
  const a = Buffer.from(header.slice(7));
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function dienPlugin(app: FastifyInstance, opts: DienPluginOptions): Promise<void> {
  const limits: Required<ServeLimits> = { maxCandidates: 1000, maxHistory: 1000, maxBodyBytes: 1 << 20, ...opts.limits };
  const retryAfter = String(opts.retryAfterSeconds ?? 1);
  let service: ModelService | undefined;
  const maxBatch = opts.scorer?.maxBatch ?? 64;
  const metrics = serviceMetrics(() => service, maxBatch, opts.processMetrics ?? true);
  const sources = [opts.weights, opts.model, opts.service].filter((s) => s !== undefined).length;
  if (sources !== 1) throw new TypeError("dienPlugin: give exactly one of weights (a file path), model (a DienModel) or service");
  if (opts.service) service = opts.service;
  else if (opts.model) service = ModelService.fromModel(opts.model, { scorer: opts.scorer });
  else service = await ModelService.fromFile(opts.weights!, { engine: opts.engine, scorer: opts.scorer });
  const svc = service;
  svc.onBatch((b) => metrics.onBatch(b));

  const reload = async (path?: string): Promise<Served> => {
    try {
      const s = await svc.reload(path);
      metrics.reloads.inc({ result: "ok" });
      opts.onReload?.({ version: s.version });
      return s;
    } catch (err) {
      metrics.reloads.inc({ result: "rejected" });
      opts.onReload?.({ error: err as Error });
      throw err;
    }
  };
  app.decorate("dien", { service: svc, metrics, reload } satisfies DienServing);
  app.addHook("onClose", async () => svc.close());

  // Our own validator: fastify's default coerces types, which would turn the string id
  // "1193" into row 1193 (and 12 into "12").
  const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setSchemaErrorFormatter((errors) => new Error(schemaMessage(errors as ErrorObject[])));

  // A route's hooks for its metrics. The in-flight count falls on the response's "close",
  // which comes whether the answer was sent or the client went away.
  const observe = (route: string) => ({
    onRequest(_req: FastifyRequest, reply: FastifyReply, done: () => void) {
      metrics.inFlight.inc({ route });
      reply.raw.once("close", () => metrics.inFlight.dec({ route }));
      done();
    },
    onResponse(_req: FastifyRequest, reply: FastifyReply, done: () => void) {
      metrics.requests.inc({ route, status: String(reply.statusCode) });
      metrics.latency.observe({ route }, reply.elapsedTime / 1000);
      done();
    },
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof ClientGone) return reply.code(499).send(); // nginx's code; nobody reads it
    let status = err.statusCode ?? 500;
    if (err instanceof BadRequest || err.validation) status = 400;
    if (err instanceof DienError && err.code === "DIEN_OVERLOADED") {
      status = 503;
      void reply.header("retry-after", retryAfter);
    }
    if (err instanceof DienError && err.code === "DIEN_DISPOSED") {
      status = 503; // closing or reloading: another try reaches the next model
      void reply.header("retry-after", retryAfter);
    }
    const message = status >= 500 && !(err instanceof DienError) ? "internal error" : err.message;
    if (status >= 500 && !(err instanceof DienError)) app.log.error(err);
    return reply.code(status).send(errorBody(status, message));
  });

  app.post<{ Body: ScoreBody }>(
    "/v1/score",
    { bodyLimit: limits.maxBodyBytes, schema: { body: scoreBodySchema(limits), response: { 200: SCORE_RESPONSE } }, ...observe("/v1/score") },
    async (req, reply) => {
      const served = svc.current;
      if (!served) return reply.code(503).header("retry-after", retryAfter).send(errorBody(503, "the model is not loaded (starting or shutting down)"));
      const request = toScoreRequest(req.body, served.model);
      // A client that goes away while its request waits costs nothing: the request is dropped.
      const { result, cancel } = served.scorer[SCORE_OWNED](request);
      const onClose = () => {
        if (reply.raw.writableEnded) return;
        metrics.disconnects.inc();
        cancel(new ClientGone("the client closed the connection"));
      };
      reply.raw.once("close", onClose);
      try {
        return { scores: Array.from(await result), model: served.version };
      } finally {
        reply.raw.off("close", onClose);
      }
    },
  );

  app.get("/healthz", observe("/healthz"), async () => ({ status: "ok" }));
  app.get("/readyz", observe("/readyz"), async (_req, reply) => {
    const s = svc.current;
    if (!s) return reply.code(503).header("retry-after", retryAfter).send({ status: svc.closing ? "closing" : "loading" });
    return { status: "ready", model: s.version, backend: s.model.info().backend, loadedAt: s.loadedAt.toISOString() };
  });
  app.get("/metrics", observe("/metrics"), async (_req, reply) => {
    return reply.header("content-type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  if (opts.adminToken !== undefined) {
    if (opts.adminToken.length < 16) throw new RangeError("adminToken: use at least 16 characters");
    const token = opts.adminToken;
    app.post("/admin/reload", observe("/admin/reload"), async (req, reply) => {
      if (!tokenMatches(req.headers.authorization, token)) return reply.code(401).send(errorBody(401, "a valid Authorization: Bearer <admin token> is required"));
      try {
        const s = await reload();
        return { status: "reloaded", model: s.version };
      } catch (err) {
        return reply.code(422).send(errorBody(422, `the new weight file was rejected; the previous model keeps serving: ${(err as Error).message}`));
      }
    });
  }
}
