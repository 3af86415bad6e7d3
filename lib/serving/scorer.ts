/**
 * createScorer: many async callers, one native call. Concurrent score() calls wait in a
 * bounded queue and are merged into one model.scoreRequests-style call (docs/model.md
 * §15), at most one running per scorer; each caller gets its own results. A full queue
 * rejects at once (DIEN_OVERLOADED) so memory stays bounded under any load.
 */
import { dienError } from "../errors";
import { type DienModel, SCORE_CHECKED } from "../model";
import { abortError } from "../queue";
import { type CheckedRequest, checkRequest, splitResults } from "../requests";
import type { ScoreRequest } from "../types";
import { expectBoolean, expectInteger, expectOptions, invalidType, signalOption } from "../validate";

export interface ScorerOptions {
  /** Most requests merged into one native call (default 64). */
  maxBatch?: number;
  /**
   * Most candidates in one native call (default 2048, about 15 ms of work for the paper's
   * model on two cores: a batch's time is every member's latency); a larger single
   * request runs alone.
   */
  maxBatchCandidates?: number;
  /** How long the first request of a batch waits for others while the model is idle, in ms (default 1; 0: the same tick only). */
  maxDelayMs?: number;
  /** Requests that may wait (the running batch not counted); past it score() rejects with DIEN_OVERLOADED (default 1024). */
  maxQueue?: number;
  /** Resolve logits instead of probabilities (default false). */
  logits?: boolean;
  /** Called after every native call: requests and candidates in it, and its duration in ms. */
  onBatch?: (batch: { requests: number; candidates: number; ms: number }) => void;
}

export interface ScorerStats {
  /** Requests waiting now. */
  queued: number;
  /** Requests in the native call running now. */
  running: number;
  /** Requests resolved, native calls made, and requests refused (full queue), aborted, failed or invalid (rejected by the checks). */
  completed: number;
  batches: number;
  overloaded: number;
  aborted: number;
  failed: number;
  invalid: number;
  /** Requests per native call: count of calls with size <= le (and > the previous bucket). */
  batchSizes: { le: number; count: number }[];
  /** From score() to its result, over the last 4096 resolved requests (ms). */
  latencyMs: { count: number; p50: number; p90: number; p99: number; max: number };
}

interface Entry {
  request: CheckedRequest;
  start: number;
  resolve(v: Float32Array): void;
  reject(e: unknown): void;
  settled: boolean;
}

/** See Scorer[SCORE_OWNED]. */
export const SCORE_OWNED = Symbol("dien.scoreOwned");

const SCORER_OPTIONS = ["maxBatch", "maxBatchCandidates", "maxDelayMs", "maxQueue", "logits", "onBatch"] as const;
const LATENCY_WINDOW = 4096;

export class Scorer {
  readonly #model: DienModel;
  readonly #maxBatch: number;
  readonly #maxCandidates: number;
  readonly #maxDelayMs: number;
  readonly #maxQueue: number;
  readonly #logits: boolean;
  readonly #onBatch: ScorerOptions["onBatch"];
  // Insertion-ordered, so FIFO; an aborted entry is deleted in O(1).
  readonly #queue = new Set<Entry>();
  #queuedCandidates = 0;
  #running = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #closed = false;
  #drained: (() => void)[] = [];
  readonly #counts = { completed: 0, batches: 0, overloaded: 0, aborted: 0, failed: 0, invalid: 0 };
  readonly #bucketLimits: number[];
  readonly #buckets: number[];
  readonly #latencies = new Float64Array(LATENCY_WINDOW);
  #latencyCount = 0;

  constructor(model: DienModel, opts?: ScorerOptions) {
    if (!model || typeof (model as { [SCORE_CHECKED]?: unknown })[SCORE_CHECKED] !== "function") throw invalidType("model", "a DienModel", model);
    const o = opts === undefined ? {} : expectOptions("options", opts, SCORER_OPTIONS);
    this.#model = model;
    this.#maxBatch = o.maxBatch === undefined ? 64 : expectInteger("options.maxBatch", o.maxBatch, 1, 1 << 20);
    this.#maxCandidates = o.maxBatchCandidates === undefined ? 2048 : expectInteger("options.maxBatchCandidates", o.maxBatchCandidates, 1);
    this.#maxDelayMs = o.maxDelayMs === undefined ? 1 : expectInteger("options.maxDelayMs", o.maxDelayMs, 0, 60_000);
    this.#maxQueue = o.maxQueue === undefined ? 1024 : expectInteger("options.maxQueue", o.maxQueue, 1);
    this.#logits = o.logits === undefined ? false : expectBoolean("options.logits", o.logits);
    if (o.onBatch !== undefined && typeof o.onBatch !== "function") throw invalidType("options.onBatch", "a function", o.onBatch);
    this.#onBatch = o.onBatch as ScorerOptions["onBatch"];
    this.#bucketLimits = [];
    for (let b = 1; b < this.#maxBatch; b *= 2) this.#bucketLimits.push(b);
    this.#bucketLimits.push(this.#maxBatch);
    this.#buckets = this.#bucketLimits.map(() => 0);
  }

  get model(): DienModel {
    return this.#model;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Scores one request (a history and its candidates) in the next native call. The
   * request is checked and copied now: the caller may reuse its arrays at once. Rejects
   * with DIEN_OVERLOADED when maxQueue requests already wait, with an AbortError when
   * signal aborts first (a queued request is then never computed).
   */
  score(request: ScoreRequest, opts?: { signal?: AbortSignal }): Promise<Float32Array> {
    let signal: AbortSignal | undefined;
    try {
      signal = signalOption(opts);
      if (signal?.aborted) {
        this.#counts.aborted++;
        throw abortError(signal);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const { result, cancel } = this.#submit(request, true);
    if (signal) {
      const s = signal;
      const onAbort = () => cancel(abortError(s));
      s.addEventListener("abort", onAbort, { once: true });
      void result.then(
        () => s.removeEventListener("abort", onAbort),
        () => s.removeEventListener("abort", onAbort),
      );
    }
    return result;
  }

  /**
   * score() for a request its caller built and will not touch again (the HTTP route):
   * checked, not copied; cancel() drops it if still queued and rejects with err.
   */
  [SCORE_OWNED](request: ScoreRequest): { result: Promise<Float32Array>; cancel(err: Error): void } {
    return this.#submit(request, false);
  }

  #submit(request: ScoreRequest, copy: boolean): { result: Promise<Float32Array>; cancel(err: Error): void } {
    let entry: Entry | undefined;
    const result = new Promise<Float32Array>((resolve, reject) => {
      if (this.#closed) throw dienError("DIEN_DISPOSED", "the scorer is closed");
      if (this.#model.disposed) throw dienError("DIEN_DISPOSED", "the model has been disposed");
      let checked: CheckedRequest;
      try {
        checked = checkRequest(this.#model.config, request, "request", copy);
      } catch (err) {
        this.#counts.invalid++;
        throw err;
      }
      if (this.#queue.size >= this.#maxQueue) {
        this.#counts.overloaded++;
        throw dienError("DIEN_OVERLOADED", `the scorer's queue is full (${this.#maxQueue} requests wait); retry later`);
      }
      entry = { request: checked, start: performance.now(), resolve, reject, settled: false };
      this.#queue.add(entry);
      this.#queuedCandidates += checked.items.length;
      this.#schedule();
    });
    const cancel = (err: Error) => {
      const e = entry;
      if (!e || e.settled) return;
      if (this.#queue.delete(e)) this.#queuedCandidates -= e.request.items.length;
      this.#counts.aborted++;
      this.#settle(e, err);
      this.#checkDrained();
    };
    return { result, cancel };
  }

  stats(): ScorerStats {
    const n = Math.min(this.#latencyCount, LATENCY_WINDOW);
    const sorted = Array.from(this.#latencies.subarray(0, n)).sort((a, b) => a - b);
    const pct = (p: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]!);
    return {
      queued: this.#queue.size,
      running: this.#running,
      ...this.#counts,
      batchSizes: this.#bucketLimits.map((le, i) => ({ le, count: this.#buckets[i]! })),
      latencyMs: { count: this.#latencyCount, p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: n === 0 ? 0 : sorted[n - 1]! },
    };
  }

  /** Stops taking requests and resolves once every request already taken has settled. Does not dispose the model. */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#queue.size === 0 && this.#running === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#schedule(true);
    return done;
  }

  #schedule(now = false): void {
    if (this.#running > 0 || this.#queue.size === 0) return;
    const full = this.#queue.size >= this.#maxBatch || this.#queuedCandidates >= this.#maxCandidates;
    if (now || full || this.#closed) {
      this.#clearTimer();
      void this.#flush();
    } else if (this.#timer === undefined) {
      const fire = () => {
        this.#timer = undefined;
        void this.#flush();
      };
      this.#timer = this.#maxDelayMs === 0 ? setImmediate(fire) : setTimeout(fire, this.#maxDelayMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    if (this.#maxDelayMs === 0) clearImmediate(this.#timer as NodeJS.Immediate);
    else clearTimeout(this.#timer as NodeJS.Timeout);
    this.#timer = undefined;
  }

  async #flush(): Promise<void> {
    if (this.#running > 0 || this.#queue.size === 0) return;
    const batch: Entry[] = [];
    let candidates = 0;
    for (const e of this.#queue) {
      const k = e.request.items.length;
      if (batch.length >= this.#maxBatch || (batch.length > 0 && candidates + k > this.#maxCandidates)) break;
      batch.push(e);
      candidates += k;
    }
    for (const e of batch) {
      this.#queue.delete(e);
      this.#queuedCandidates -= e.request.items.length;
    }
    this.#running = batch.length;
    this.#record(batch.length);
    const requests = batch.map((e) => e.request);
    const t0 = performance.now();
    try {
      // One array per caller: a view into the batch's array would show other callers' results.
      const results = splitResults(await this.#model[SCORE_CHECKED](requests, this.#logits), requests).map((r) => r.slice());
      const now = performance.now();
      batch.forEach((e, i) => {
        if (e.settled) return;
        this.#counts.completed++;
        this.#latencies[this.#latencyCount++ % LATENCY_WINDOW] = now - e.start;
        this.#settle(e, undefined, results[i]!);
      });
    } catch (err) {
      for (const e of batch)
        if (!e.settled) {
          this.#counts.failed++;
          this.#settle(e, err);
        }
    } finally {
      this.#running = 0;
      try {
        this.#onBatch?.({ requests: batch.length, candidates, ms: performance.now() - t0 });
      } catch (err) {
        // A metrics hook must not stop scoring; its failure is reported, not thrown.
        process.emitWarning(`dien scorer: options.onBatch threw: ${String(err)}`);
      }
    }
    if (this.#queue.size > 0) this.#schedule(true); // they waited while the model ran: go now
    else this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#closed && this.#queue.size === 0 && this.#running === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  #record(size: number): void {
    this.#counts.batches++;
    const i = this.#bucketLimits.findIndex((le) => size <= le);
    this.#buckets[i]!++;
  }

  #settle(e: Entry, err: unknown, value?: Float32Array): void {
    if (e.settled) return;
    e.settled = true;
    if (err === undefined) e.resolve(value!);
    else e.reject(err);
  }
}

/** A micro-batching scorer over model (lib/serving/scorer.ts); see ScorerOptions. */
export function createScorer(model: DienModel, opts?: ScorerOptions): Scorer {
  return new Scorer(model, opts);
}
