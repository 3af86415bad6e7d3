/** DienModel: the typed, async face of one native engine. */
import { promises as fs } from "node:fs";

import { writeFileAtomic } from "./atomic";
import { type ConfigInput, type ModelConfig, hasUserField, normalizeConfig } from "./config";
import { DienError, type DienErrorCode } from "./errors";
import { type NativeModel, native } from "./native";
import type { Batch } from "./types";
import {
  checkIds,
  checkLengths,
  expectBoolean,
  expectFloat32Array,
  expectInt32Array,
  expectInteger,
  expectLength,
  expectObject,
  expectOneOf,
  invalidType,
} from "./validate";

/** One user's behaviour history, oldest first. */
export interface UserHistory {
  histItem: Int32Array;
  histCat: Int32Array;
  /** Defaults to histItem.length; at most maxLen. */
  histLen?: number;
  user?: number;
}

export interface Candidates {
  items: Int32Array;
  cats: Int32Array;
}

export interface ScoreOptions {
  /** Return logits instead of probabilities. */
  logits?: boolean;
  /** Write results here (length B or K) instead of a new array. */
  out?: Float32Array;
}

export type Device = "auto" | "cpu" | "cuda";

export interface EngineOptions {
  /** Worker threads for one call; 0 or absent: one per hardware thread. */
  threads?: number;
  /** "auto" (default) uses CUDA only when a device is really usable; DIEN_DEVICE overrides. */
  device?: Device;
}

export interface CreateOptions extends EngineOptions {
  /** Initialisation seed (MODEL.md section 9); default 0. */
  seed?: number;
}

export interface ModelInfo {
  backend: "cpu" | "cuda";
  /** Why this backend was chosen. */
  reason: string;
  threads: number;
  /** Number of float values in the weight file. */
  parameters: number;
  config: ModelConfig;
}

const NATIVE_CODES = new Set<string>(["DIEN_BAD_WEIGHTS", "DIEN_BAD_CONFIG", "DIEN_OOM", "DIEN_DISPOSED", "DIEN_INTERNAL"]);

/** Native Errors carry a code; give them the DienError class so callers can test instanceof. */
function rethrow(err: unknown): never {
  if (err instanceof Error && !(err instanceof DienError) && NATIVE_CODES.has((err as { code?: string }).code ?? ""))
    throw new DienError((err as unknown as { code: DienErrorCode }).code, err.message, { cause: err });
  throw err;
}

function engineOptions(opts: unknown): { threads?: number; device?: string } {
  if (opts === undefined) return {};
  const o = expectObject("options", opts);
  const out: { threads?: number; device?: string } = {};
  if (o.threads !== undefined) out.threads = expectInteger("options.threads", o.threads, 0, 1024);
  if (o.device !== undefined) out.device = expectOneOf("options.device", o.device, ["auto", "cpu", "cuda"] as const);
  return out;
}

export class DienModel implements Disposable {
  #native: NativeModel | undefined;
  readonly #config: ModelConfig;

  private constructor(handle: NativeModel) {
    this.#native = handle;
    this.#config = Object.freeze(JSON.parse(handle.info().config) as ModelConfig);
  }

  /** Loads a safetensors weight file (a path or its bytes). Rejects corrupt files whole. */
  static async load(source: string | Uint8Array, opts?: EngineOptions): Promise<DienModel> {
    const options = engineOptions(opts);
    let bytes: Uint8Array;
    if (typeof source === "string") bytes = await fs.readFile(source);
    else if (source instanceof Uint8Array) bytes = source;
    else throw invalidType("source", "a file path or a Uint8Array", source);
    const u8 = bytes instanceof Buffer ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes;
    try {
      return new DienModel(await native().loadModel(u8, options));
    } catch (err) {
      if (typeof source === "string" && err instanceof Error && (err as { code?: string }).code === "DIEN_BAD_WEIGHTS")
        err.message = `${source}: ${err.message}`;
      rethrow(err);
    }
  }

  /** A new model with MODEL.md section 9 initialisation, deterministic for a seed. */
  static async create(config: ConfigInput, opts?: CreateOptions): Promise<DienModel> {
    const normalized = normalizeConfig(config);
    const seed = opts?.seed === undefined ? 0 : expectInteger("options.seed", opts.seed, 0);
    const options = engineOptions(opts === undefined ? undefined : { threads: opts.threads, device: opts.device });
    try {
      return new DienModel(await native().createModel(JSON.stringify(normalized), seed, options));
    } catch (err) {
      rethrow(err);
    }
  }

  get config(): Readonly<ModelConfig> {
    return this.#config;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  #handle(): NativeModel {
    if (!this.#native) throw new DienError("DIEN_DISPOSED", "the model has been disposed");
    return this.#native;
  }

  /** Click probabilities (or logits) for every sample of the batch, computed off the event loop. */
  async predict(batch: Batch, opts?: ScoreOptions): Promise<Float32Array> {
    const handle = this.#handle();
    const { logits, out } = scoreOptions(opts);
    const inputs = this.#checkBatch(batch);
    if (out) expectLength("out", out, inputs.targetItem.length, "one per sample");
    try {
      return await handle.predict(inputs, out, logits);
    } catch (err) {
      rethrow(err);
    }
  }

  /**
   * One user's history against K candidates. The extractor GRU runs once for the
   * user; only attention, evolution and the output MLP run per candidate. Equal to
   * predict() on the batch that repeats the history K times.
   */
  async scoreCandidates(user: UserHistory, candidates: Candidates, opts?: ScoreOptions): Promise<Float32Array> {
    const handle = this.#handle();
    const { logits, out } = scoreOptions(opts);
    const c = this.#config;
    const u = expectObject("user", user);
    const histItem = expectInt32Array("user.histItem", u.histItem);
    const histCat = expectInt32Array("user.histCat", u.histCat);
    const histLen = u.histLen === undefined ? histItem.length : expectInteger("user.histLen", u.histLen, 0, c.maxLen);
    if (histLen > c.maxLen) throw new RangeError(`user.histLen: ${histLen} behaviours exceed the model's maxLen ${c.maxLen}; keep the most recent ${c.maxLen}`);
    if (histItem.length < histLen) throw new RangeError(`user.histItem: expected at least ${histLen} elements but got ${histItem.length}`);
    if (histCat.length < histLen) throw new RangeError(`user.histCat: expected at least ${histLen} elements but got ${histCat.length}`);
    checkIds("user.histItem", histItem.subarray(0, histLen), c.itemVocab);
    checkIds("user.histCat", histCat.subarray(0, histLen), c.catVocab);
    let userId = -1;
    if (hasUserField(c)) {
      if (u.user === undefined) throw new TypeError("user.user: the model has a user field, so a user id is required");
      userId = expectInteger("user.user", u.user, 0);
      if (userId >= c.userVocab) throw new RangeError(`user.user: id ${userId} is outside [0, ${c.userVocab})`);
    }
    const cand = expectObject("candidates", candidates);
    const items = expectInt32Array("candidates.items", cand.items);
    const cats = expectInt32Array("candidates.cats", cand.cats);
    expectLength("candidates.cats", cats, items.length, "one per candidate item");
    checkIds("candidates.items", items, c.itemVocab);
    checkIds("candidates.cats", cats, c.catVocab);
    if (out) expectLength("out", out, items.length, "one per candidate");
    try {
      return await handle.scoreCandidates(histItem, histCat, histLen, userId, items, cats, out, logits);
    } catch (err) {
      rethrow(err);
    }
  }

  /** The weights as safetensors bytes (MODEL.md section 12). */
  async toBuffer(): Promise<Buffer> {
    try {
      return await this.#handle().save();
    } catch (err) {
      rethrow(err);
    }
  }

  /** Writes the weight file atomically: a temp file in the same folder, fsync, rename. */
  async save(path: string): Promise<void> {
    if (typeof path !== "string" || path.length === 0) throw invalidType("path", "a non-empty string", path);
    await writeFileAtomic(path, await this.toBuffer());
  }

  info(): ModelInfo {
    const i = this.#handle().info();
    return {
      backend: i.backend as "cpu" | "cuda",
      reason: i.reason,
      threads: i.threads,
      parameters: i.parameters,
      config: this.#config,
    };
  }

  /** Frees the native model; calls in flight finish first. Later calls throw DIEN_DISPOSED. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #checkBatch(batch: Batch): Batch {
    const c = this.#config;
    const b = expectObject("batch", batch);
    const targetItem = expectInt32Array("targetItem", b.targetItem);
    const targetCat = expectInt32Array("targetCat", b.targetCat);
    const histItem = expectInt32Array("histItem", b.histItem);
    const histCat = expectInt32Array("histCat", b.histCat);
    const histLen = expectInt32Array("histLen", b.histLen);
    const n = targetItem.length;
    expectLength("targetCat", targetCat, n, "one per sample");
    expectLength("histLen", histLen, n, "one per sample");
    expectLength("histItem", histItem, n * c.maxLen, `batch ${n} x maxLen ${c.maxLen}`);
    expectLength("histCat", histCat, n * c.maxLen, `batch ${n} x maxLen ${c.maxLen}`);
    checkIds("targetItem", targetItem, c.itemVocab);
    checkIds("targetCat", targetCat, c.catVocab);
    checkLengths("histLen", histLen, c.maxLen);
    checkIds("histItem", histItem, c.itemVocab, c.maxLen);
    checkIds("histCat", histCat, c.catVocab, c.maxLen);
    const inputs: Batch = { targetItem, targetCat, histItem, histCat, histLen };
    if (hasUserField(c)) {
      if (b.user === undefined) throw new TypeError("user: the model has a user field, so user ids (an Int32Array) are required");
      const user = expectInt32Array("user", b.user);
      expectLength("user", user, n, "one per sample");
      checkIds("user", user, c.userVocab);
      inputs.user = user;
    }
    return inputs;
  }
}

function scoreOptions(opts: unknown): { logits: boolean; out: Float32Array | undefined } {
  if (opts === undefined) return { logits: false, out: undefined };
  const o = expectObject("options", opts);
  return {
    logits: o.logits === undefined ? false : expectBoolean("options.logits", o.logits),
    out: o.out === undefined ? undefined : expectFloat32Array("options.out", o.out),
  };
}


