/** DienModel: the typed, async face of one native engine. */
import { writeFileAtomic } from "./atomic";
import { type ConfigInput, type ModelConfig, hasGru, hasUserField, normalizeConfig } from "./config";
import { type Vocabularies, nativeVocabularies, vocabulariesToBytes, vocabulariesToJson } from "./data/vocab";
import { readEnvironment } from "./environment";
import { DienError, dienError, fromNative } from "./errors";
import { type NativeCall, type NativeEngineOptions, type NativeGradients, type NativeModel, type NativeVocab, loadedIsaLevel, native } from "./native";
import { SerialQueue } from "./queue";
import { Trainer, type TrainerOptions, trainerOptions } from "./trainer";
import { type CheckedRequest, checkCandidates, checkHistory, checkRequest, packRequests, splitResults } from "./requests";
import type { Batch, Candidates, ScoreRequest, TrainBatch, UserHistory } from "./types";
import {
  checkIds,
  checkLengths,
  expectAbortSignal,
  expectBoolean,
  expectFloat32Array,
  expectInt32Array,
  expectInteger,
  expectLength,
  signalOption,
  expectNoOverlap,
  expectObject,
  expectOneOf,
  expectOptions,
  invalidType,
} from "./validate";
import {
  type VocabFile,
  type VocabPlacement,
  type VocabPlan,
  locateVocabFile,
  parseVocabReference,
  planVocab,
  readVocabFile,
  readVocabFileAsync,
  writeVocabFile,
} from "./vocab-file";

export interface ScoreOptions {
  /** Return logits instead of probabilities. */
  logits?: boolean;
  /** Write results here (length B or K) instead of a new array; must not overlap an input. */
  out?: Float32Array;
  /** Aborting drops the call while it still waits in the model's queue (AbortError). */
  signal?: AbortSignal;
}

export type Device = "auto" | "cpu" | "cuda";

/** How a weight file stores its tables and weight matrices (docs/model.md §12). */
export type WeightDtype = "float32" | "fp16" | "int8";

export interface SaveOptions {
  /** "float32" (default), or a quantised file: "fp16", "int8" (a scale per row). */
  dtype?: WeightDtype;
  /**
   * Where save(path) keeps the vocabularies (docs/model.md §12, "Vocabularies"): "auto"
   * (default) inside the weight file up to 8 MiB of them, beyond that in a file of their
   * own beside it; "inline" or "file" always. toBuffer() always writes them inline.
   */
  vocab?: VocabPlacement;
}

function saveOptions(opts: unknown): { dtype: WeightDtype; vocab: VocabPlacement } {
  if (opts === undefined) return { dtype: "float32", vocab: "auto" };
  const o = expectOptions("options", opts, ["dtype", "vocab"]);
  return {
    dtype: o.dtype === undefined ? "float32" : expectOneOf("options.dtype", o.dtype, ["float32", "fp16", "int8"] as const),
    vocab: o.vocab === undefined ? "auto" : expectOneOf("options.vocab", o.vocab, ["auto", "inline", "file"] as const),
  };
}

export interface EngineOptions {
  /** Worker threads for one call; 0 or absent: one per hardware thread. DIEN_THREADS overrides. */
  threads?: number;
  /** "auto" (default) uses CUDA only when a device is really usable; DIEN_DEVICE overrides. */
  device?: Device;
  /**
   * load(path) maps the file instead of reading it (default true): processes serving the
   * same file share its pages, and a table larger than memory still serves. Replace a
   * mapped file by renaming a new one over it, never by rewriting it in place
   * (docs/model.md §12). false: the file is read and every value checked.
   */
  mmap?: boolean;
}

export interface CreateOptions extends EngineOptions {
  /** Initialisation seed (docs/model.md §9); default 0. */
  seed?: number;
  /** String-id vocabularies saved with the model (their sizes must equal the config's vocabularies). */
  vocab?: Vocabularies;
}

/** Vocabulary sizes must be the model's: row i of a table is token i. */
function checkVocab(v: Vocabularies, c: ModelConfig, where: string): void {
  const check = (name: string, size: number | undefined, want: number) => {
    if (size !== want) throw dienError("DIEN_BAD_WEIGHTS", `${where}vocab.${name} holds ${size ?? "no"} ids but the model's vocabulary has ${want}`);
  };
  check("items", v.items.size, c.itemVocab);
  check("cats", v.cats.size, c.catVocab);
  if (c.userVocab > 0 || v.users) check("users", v.users?.size, c.userVocab);
}

/** The engine the loader chose for this CPU, the features it uses and those this machine has. */
export interface IsaInfo {
  /** The ISA level in use: avx512, avx2 or baseline (a DIEN_MARCH build: native or custom). */
  level: string;
  /** The built levels this CPU runs, best first (DIEN_ISA may pick any of them). */
  available: string[];
  /** The -march of the level's engine (x86-64-v4, x86-64-v3, x86-64, armv8-a, ...). */
  march: string;
  built: string[];
  running: string[];
}

export interface ModelInfo {
  backend: "cpu" | "cuda";
  /** Why this backend was chosen. */
  reason: string;
  threads: number;
  /** Number of float values in the weight file. */
  parameters: number;
  /** The weights live in the mapped weight file (load(path) with mmap), not in memory of their own. */
  mapped: boolean;
  /** Bytes the weights' values take: quantised tables (fp16 / int8 files) stay quantised in memory. */
  weightBytes: number;
  config: ModelConfig;
  isa: IsaInfo;
}

/** The training-mode loss of a batch and the gradient of every trainable tensor. */
export interface LossAndGradients {
  /** bceLoss + auxAlpha * auxLoss (docs/model.md §9). */
  loss: number;
  bceLoss: number;
  auxLoss: number;
  /** [B] training-mode logits (batch statistics in Dice and batch norm). */
  logits: Float32Array;
  /** Weight-file tensor name -> dense gradient (running statistics have none). */
  gradients: Record<string, Float32Array>;
}

/** Hooks that lib/trainer.ts uses; not exported from the package. */
export const ENQUEUE = Symbol("dien.enqueue");
export const CHECK_TRAIN_BATCH = Symbol("dien.checkTrainBatch");
export const FROM_HANDLE = Symbol("dien.fromHandle");
export const RUN_QUEUED = Symbol("dien.runQueued");
/** How a file written now carries the vocabularies (lib/vocab-file.ts); the trainer's checkpoints use it too. */
export const VOCAB_PLAN = Symbol("dien.vocabPlan");
/** The live native handle (throws DIEN_DISPOSED after dispose()); for lib/rocket.ts. */
export const HANDLE = Symbol("dien.handle");
/** Scores requests already checked (and copied) by lib/requests.ts: the scorer's path. */
export const SCORE_CHECKED = Symbol("dien.scoreChecked");

const ENGINE_OPTIONS = ["threads", "device", "mmap"] as const;
const SCORE_OPTIONS = ["logits", "out", "signal"] as const;
const REQUEST_OPTIONS = ["logits", "signal"] as const;

export function engineOptions(opts: unknown): NativeEngineOptions {
  const out: NativeEngineOptions = {};
  if (opts !== undefined) {
    const o = expectOptions("options", opts, ENGINE_OPTIONS);
    if (o.threads !== undefined) out.threads = expectInteger("options.threads", o.threads, 0, 1024);
    if (o.device !== undefined) out.device = expectOneOf("options.device", o.device, ["auto", "cpu", "cuda"] as const);
    if (o.mmap !== undefined) out.mmap = expectBoolean("options.mmap", o.mmap);
  }
  const env = readEnvironment();
  if (env.threads !== undefined) out.threads = env.threads;
  if (env.device !== undefined) {
    out.device = env.device;
    out.deviceFromEnvironment = true;
  }
  return out;
}

function scoreOptions(opts: unknown): { logits: boolean; out?: Float32Array; signal?: AbortSignal } {
  if (opts === undefined) return { logits: false };
  const o = expectOptions("options", opts, SCORE_OPTIONS);
  return {
    logits: o.logits === undefined ? false : expectBoolean("options.logits", o.logits),
    ...(o.out === undefined ? {} : { out: expectFloat32Array("options.out", o.out) }),
    ...(o.signal === undefined ? {} : { signal: expectAbortSignal("options.signal", o.signal) }),
  };
}

function words(s: string): string[] {
  return s.split(" ").filter((w) => w.length > 0);
}

/** A native parse failure as a DienError; a malformed text names its source. */
function vocabParseError(err: unknown, source: string): DienError {
  const e = fromNative(err);
  if (!(e instanceof DienError)) return dienError("DIEN_INTERNAL", (e as Error).message, e);
  return e.code === "DIEN_BAD_WEIGHTS" ? dienError("DIEN_BAD_WEIGHTS", `${source} is not valid: ${e.message}`) : e;
}

/**
 * Writes a weight file whose bytes are being made: its vocabulary file first (plan), then
 * the file itself atomically. No vocabulary file is ever removed (lib/vocab-file.ts says why).
 */
export async function saveWithVocab(path: string, plan: VocabPlan | undefined, bytes: Promise<Buffer>): Promise<void> {
  try {
    if (plan) await writeVocabFile(path, plan);
  } catch (err) {
    bytes.catch(() => undefined); // the failure to report is this one
    throw err;
  }
  await writeFileAtomic(path, await bytes);
}

export class DienModel implements Disposable {
  #native: NativeModel | undefined;
  readonly #config: ModelConfig;
  // One native call in flight per model (lib/queue.ts says why).
  readonly #queue = new SerialQueue();
  #vocab: Vocabularies | undefined;
  // Vocabularies in a file of their own, read by loadVocab() or at the first use of `vocab`.
  #vocabFile: VocabFile | undefined;
  #vocabLoading: Promise<Vocabularies> | undefined;

  private constructor(handle: NativeModel) {
    this.#native = handle;
    this.#config = Object.freeze(JSON.parse(handle.info().config) as ModelConfig);
  }

  /**
   * Loads a safetensors weight file: a path (read off the event loop) or its bytes
   * (copied at once). A file is loaded whole or rejected: DIEN_IO when it cannot be
   * read, DIEN_BAD_WEIGHTS / DIEN_BAD_CONFIG (naming the path) when it is not a model.
   */
  static async load(source: string | Uint8Array, opts?: EngineOptions): Promise<DienModel> {
    if (typeof source === "string") {
      if (source.length === 0) throw invalidType("source", "a non-empty file path or a Uint8Array", source);
    } else if (!(source instanceof Uint8Array)) {
      throw invalidType("source", "a file path or a Uint8Array", source);
    }
    const options = engineOptions(opts);
    let model: DienModel;
    try {
      model = new DienModel(await native().loadModel(source, options));
    } catch (err) {
      throw fromNative(err);
    }
    await model.#attachVocab(typeof source === "string" ? source : undefined);
    return model;
  }

  /**
   * Reads the file's vocabularies, if any, into a native index (off the event loop); a
   * file whose vocabularies do not fit is rejected whole. Vocabularies in a file of their
   * own must be there, with their size; they are read (and their hash checked) by
   * loadVocab() or at their first use.
   */
  async #attachVocab(weightPath: string | undefined): Promise<void> {
    const where = weightPath === undefined ? "" : `${weightPath}: `;
    const text = this.#native!.vocab();
    if (text === undefined) return;
    try {
      // A reference's keys are file, bytes and sha256; vocabularies (items, cats, users) go to the native parser.
      const ref = /^\s*\{\s*"(file|bytes|sha256)"/.test(text) ? parseVocabReference(JSON.parse(text), where) : undefined;
      if (ref) {
        this.#vocabFile = locateVocabFile(ref, weightPath, where);
        return;
      }
      const index = await native()
        .parseVocab(text)
        .catch((err: unknown) => {
          throw vocabParseError(err, `${where}__metadata__.vocab`);
        });
      this.#vocab = nativeVocabularies(index);
      checkVocab(this.#vocab, this.config, where);
    } catch (err) {
      this.dispose();
      if (err instanceof DienError) throw err;
      throw dienError("DIEN_BAD_WEIGHTS", `${where}__metadata__.vocab is not valid: ${(err as Error).message}`);
    }
  }

  /** A new model with docs/model.md §9 initialisation, deterministic for a seed. */
  static async create(config: ConfigInput, opts?: CreateOptions): Promise<DienModel> {
    const normalized = normalizeConfig(config);
    const o = opts === undefined ? {} : expectOptions("options", opts, ["seed", "vocab", ...ENGINE_OPTIONS]);
    const seed = o.seed === undefined ? 0 : expectInteger("options.seed", o.seed, 0);
    const { seed: _seed, vocab, ...engine } = o;
    const options = engineOptions(engine);
    let vocabJson: string | undefined;
    if (vocab !== undefined) {
      checkVocab(vocab as Vocabularies, normalized, "options.");
      vocabJson = vocabulariesToJson(vocab as Vocabularies);
    }
    try {
      const model = new DienModel(await native().createModel(JSON.stringify(normalized), seed, options, vocabJson));
      model.#vocab = vocab as Vocabularies | undefined;
      return model;
    } catch (err) {
      throw fromNative(err);
    }
  }

  get config(): Readonly<ModelConfig> {
    return this.#config;
  }

  /**
   * The string-id vocabularies saved with the model (items, cats, users), when it has them:
   * `model.vocab.items.encode(["B0012", ...])` maps a service's ids to rows (unknown -> 0).
   */
  get vocab(): Vocabularies | undefined {
    this.#handle(); // DIEN_DISPOSED after dispose()
    if (this.#vocab === undefined && this.#vocabFile !== undefined) {
      // Kept in a file of their own (docs/model.md §12): read, hash-checked and parsed now,
      // on this thread; loadVocab() does the same off it.
      const f = this.#vocabFile;
      const bytes = readVocabFile(f);
      let index: NativeVocab;
      try {
        index = native().parseVocabSync(bytes, f.sha256);
      } catch (err) {
        throw vocabParseError(err, `${f.where}its vocabulary file ${f.path}`);
      }
      this.#vocab = this.#checkedVocab(f, index);
    }
    return this.#vocab;
  }

  /**
   * The vocabularies, read off the event loop: those in a file of their own are read,
   * hash-checked and parsed into a native index on worker threads, once (a service calls
   * this before serving a model, so that no request waits for it). Resolves what `vocab`
   * then returns; rejects with DIEN_BAD_WEIGHTS when the file is missing, changed or malformed.
   */
  async loadVocab(): Promise<Vocabularies | undefined> {
    this.#handle(); // DIEN_DISPOSED after dispose()
    const f = this.#vocabFile;
    if (this.#vocab !== undefined || f === undefined) return this.#vocab;
    // One read for every caller until it settles; a failure may be retried (a file still
    // being copied into place), a success is kept before anyone else can start another.
    this.#vocabLoading ??= (async () => {
      try {
        const bytes = await readVocabFileAsync(f);
        const index = await native()
          .parseVocab(bytes, f.sha256)
          .catch((err: unknown) => {
            throw vocabParseError(err, `${f.where}its vocabulary file ${f.path}`);
          });
        const v = this.#checkedVocab(f, index);
        this.#handle(); // disposed meanwhile: the index goes with the model
        this.#vocab ??= v;
        return this.#vocab;
      } finally {
        this.#vocabLoading = undefined;
      }
    })();
    return this.#vocabLoading;
  }

  /** The Vocabularies over an index parsed from f, checked against the config. */
  #checkedVocab(f: VocabFile, index: NativeVocab): Vocabularies {
    const v = nativeVocabularies(index);
    checkVocab(v, this.config, f.where);
    return v;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** Calls waiting in this model's queue (the one running not counted). */
  get pendingCalls(): number {
    return this.#queue.pending;
  }

  #handle(): NativeModel {
    if (!this.#native) throw dienError("DIEN_DISPOSED", "the model has been disposed");
    return this.#native;
  }

  /**
   * Click probabilities (or logits) for every sample of the batch, computed off the
   * event loop. The inputs are copied before this returns: the arrays may be reused or
   * changed at once.
   */
  async predict(batch: Batch, opts?: ScoreOptions): Promise<Float32Array> {
    const handle = this.#handle();
    const { logits, out, signal } = scoreOptions(opts);
    const inputs = this.#checkBatch(batch, false);
    if (out) {
      expectLength("options.out", out, inputs.targetItem.length, "one per sample");
      expectNoOverlap("options.out", out, { ...inputs });
    }
    return this.#run(() => handle.stagePredict(inputs, logits), out, signal);
  }

  /**
   * One user's history against K candidates. The extractor GRU runs once for the
   * user; only attention, evolution and the output MLP run per candidate. Equal to
   * predict() on the batch that repeats the history K times.
   */
  async scoreCandidates(user: UserHistory, candidates: Candidates, opts?: ScoreOptions): Promise<Float32Array> {
    const handle = this.#handle();
    const { logits, out, signal } = scoreOptions(opts);
    const c = this.#config;
    const request: CheckedRequest = { ...checkHistory(c, user, "user"), ...checkCandidates(c, candidates, "candidates") };
    if (out) {
      expectLength("options.out", out, request.items.length, "one per candidate");
      expectNoOverlap("options.out", out, { "user.histItem": request.histItem, "user.histCat": request.histCat, "candidates.items": request.items, "candidates.cats": request.cats });
    }
    return this.#run(() => handle.stageRequests(packRequests(c, [request]), logits), out, signal);
  }

  /**
   * Many users' requests in one native call (docs/model.md §15): each history is
   * processed once for all of its candidates, and every request's results come back
   * in its candidates' order (views into one array). Equal to predict() on the batch
   * with one sample per candidate. Use createScorer() to merge concurrent callers.
   */
  async scoreRequests(requests: readonly ScoreRequest[], opts?: { logits?: boolean; signal?: AbortSignal }): Promise<Float32Array[]> {
    this.#handle();
    if (!Array.isArray(requests)) throw invalidType("requests", "an array of { history, candidates }", requests);
    const o = opts === undefined ? {} : expectOptions("options", opts, REQUEST_OPTIONS);
    const logits = o.logits === undefined ? false : expectBoolean("options.logits", o.logits);
    const signal = o.signal === undefined ? undefined : expectAbortSignal("options.signal", o.signal);
    const checked = Array.from({ length: requests.length }, (_, i) => checkRequest(this.#config, requests[i]!, `requests[${i}]`)); // holes too
    return splitResults(await this[SCORE_CHECKED](checked, logits, signal), checked);
  }

  /** Flat results of requests checked by lib/requests.ts (candidate order). */
  [SCORE_CHECKED](requests: readonly CheckedRequest[], logits: boolean, signal?: AbortSignal): Promise<Float32Array> {
    const handle = this.#handle();
    const packed = packRequests(this.#config, requests);
    return this.#run(() => handle.stageRequests(packed, logits), undefined, signal);
  }

  /**
   * The training-mode loss (docs/model.md §9) of a batch and the gradient of every trainable
   * tensor, dense, named as in the weight file. Changes nothing: no weight, no running
   * statistic; predictions after it are the same as before.
   */
  async lossAndGradients(batch: TrainBatch, opts?: { signal?: AbortSignal }): Promise<LossAndGradients> {
    const handle = this.#handle();
    const signal = signalOption(opts);
    const inputs = this[CHECK_TRAIN_BATCH](batch);
    const r = await this.#enqueue<NativeGradients>(
      () => handle.stageGradients(inputs),
      signal === undefined ? undefined : expectAbortSignal("options.signal", signal),
    );
    return { loss: r.loss, bceLoss: r.bceLoss, auxLoss: r.auxLoss, logits: r.logits, gradients: r.gradients };
  }

  /**
   * An Adam trainer (docs/model.md §9) that updates this model in place. Its steps go
   * through this model's queue: a predict never sees half-updated weights.
   */
  trainer(opts?: TrainerOptions): Trainer {
    const handle = this.#handle();
    const options = trainerOptions(opts);
    try {
      return new Trainer(this, handle.createTrainer(options));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * The weights as safetensors bytes (docs/model.md §12). dtype "fp16" or "int8" writes
   * a quantised file: the tables and weight matrices as F16, or as I8 with a scale per
   * row; it loads as any weight file (docs/model.md §12, "Quantised files").
   */
  async toBuffer(opts?: SaveOptions): Promise<Buffer> {
    const handle = this.#handle();
    const { dtype } = saveOptions(opts);
    const plan = this[VOCAB_PLAN](undefined, "inline");
    // Staged now, holding the engine: a save made before dispose() still runs.
    return this.#enqueue<Buffer>(() => handle.stageSave(dtype, plan?.meta), undefined);
  }

  /**
   * Writes the weight file atomically: a temp file in the same folder, fsync, rename.
   * Large vocabularies go to a file of their own beside it, written first (options.vocab).
   */
  async save(path: string, opts?: SaveOptions): Promise<void> {
    if (typeof path !== "string" || path.length === 0) throw invalidType("path", "a non-empty string", path);
    const handle = this.#handle();
    const { dtype, vocab } = saveOptions(opts);
    const plan = this[VOCAB_PLAN](path, vocab);
    const bytes = this.#enqueue<Buffer>(() => handle.stageSave(dtype, plan?.meta), undefined);
    await saveWithVocab(path, plan, bytes);
  }

  /**
   * What a file written now holds as `__metadata__.vocab`, as a VocabPlan; undefined when
   * the engine's own text is right (or there is none). weightPath undefined: bytes, inline.
   */
  [VOCAB_PLAN](weightPath: string | undefined, placement: VocabPlacement): VocabPlan | undefined {
    const handle = this.#handle();
    // Inline, the engine's own text is what it writes: no need to copy it out.
    if (!this.#vocabFile && (weightPath === undefined || placement === "inline")) return undefined;
    // Vocabularies from a file of their own are written out as parsed (the same JSON
    // text, read and hash-checked once).
    const text = this.#vocabFile ? vocabulariesToBytes(this.vocab!) : handle.vocab();
    if (text === undefined) return undefined;
    const plan = planVocab(weightPath ?? "", text, weightPath === undefined ? "inline" : placement);
    return plan.file || this.#vocabFile ? plan : undefined;
  }

  info(): ModelInfo {
    const i = this.#handle().info();
    const build = native().buildInfo();
    return {
      backend: i.backend as "cpu" | "cuda",
      reason: i.reason,
      threads: i.threads,
      parameters: i.parameters,
      mapped: i.mapped,
      weightBytes: i.weightBytes,
      config: this.#config,
      isa: { ...loadedIsaLevel(), march: build.march, built: words(build.builtIsa), running: words(build.runningIsa) },
    };
  }

  /** Frees the native model once calls already made have finished. Later calls throw DIEN_DISPOSED. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
    // A loaded model's vocabularies are a native index of their own: let it go with the model.
    this.#vocab = undefined;
    this.#vocabFile = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  [ENQUEUE]<T>(stage: () => NativeCall, signal?: AbortSignal): Promise<T> {
    return this.#enqueue<T>(stage, signal);
  }

  [HANDLE](): NativeModel {
    return this.#handle();
  }

  /** Runs a task on the JS thread in this model's queue order (dropped if signal aborts while it waits). */
  [RUN_QUEUED]<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.#handle();
    return this.#queue.run(task, signal);
  }

  static async [FROM_HANDLE](handle: NativeModel, weightPath: string): Promise<DienModel> {
    const model = new DienModel(handle);
    await model.#attachVocab(weightPath);
    return model;
  }

  /** #checkBatch plus labels and negatives: the same errors the engine would raise, before any work. */
  [CHECK_TRAIN_BATCH](batch: TrainBatch): TrainBatch {
    const c = this.#config;
    const inputs: TrainBatch = { ...this.#checkBatch(batch), label: new Float32Array(0) };
    const b = batch as unknown as Record<string, unknown>;
    const n = inputs.targetItem.length;
    if (n === 0) throw new RangeError("batch: a training batch needs at least one sample");
    const label = expectFloat32Array("label", b.label);
    expectLength("label", label, n, "one per sample");
    for (let i = 0; i < n; i++) {
      const y = label[i]!;
      if (y !== 0 && y !== 1) throw new RangeError(`label[${i}]: expected 0 or 1 but got ${y}`);
    }
    inputs.label = label;
    const gru = hasGru(c);
    const needNegatives = gru && c.auxAlpha > 0;
    if (!needNegatives) {
      if (b.negItem !== undefined || b.negCat !== undefined)
        throw new TypeError(`negItem: this model has no aux loss (${gru ? "auxAlpha is 0" : "no GRU"}), so negItem and negCat must be left out`);
      return inputs;
    }
    if (b.negItem === undefined || b.negCat === undefined)
      throw new TypeError(`negItem: the model's aux loss is on (auxAlpha ${c.auxAlpha}), so negItem and negCat (Int32Arrays of B x maxLen) are required`);
    const negItem = expectInt32Array("negItem", b.negItem);
    const negCat = expectInt32Array("negCat", b.negCat);
    expectLength("negItem", negItem, n * c.maxLen, `batch ${n} x maxLen ${c.maxLen}`);
    expectLength("negCat", negCat, n * c.maxLen, `batch ${n} x maxLen ${c.maxLen}`);
    checkIds("negItem", negItem, c.itemVocab, c.maxLen);
    checkIds("negCat", negCat, c.catVocab, c.maxLen);
    inputs.negItem = negItem;
    inputs.negCat = negCat;
    return inputs;
  }

  /** Stages a call now (its inputs copied on this thread) and runs it when the model's earlier calls are done. */
  async #enqueue<T>(stage: () => NativeCall, signal: AbortSignal | undefined): Promise<T> {
    try {
      const call = stage();
      return await this.#queue.run(() => native().runCall<T>(call), signal);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /**
   * #enqueue, then the results copied into `out` here, on the JS thread: nothing off
   * this thread touches memory JS owns.
   */
  async #run(stage: () => NativeCall, out: Float32Array | undefined, signal: AbortSignal | undefined): Promise<Float32Array> {
    const result = await this.#enqueue<Float32Array>(stage, signal);
    if (!out) return result;
    if (out.length !== result.length)
      throw new TypeError(`options.out: its buffer was detached or resized while the call ran (${out.length} elements left, ${result.length} results); the results were not written`);
    out.set(result);
    return out;
  }

  /**
   * Types and lengths. `ids`: every id and length in range too; predict leaves those to
   * the native staging, which checks its copy in one vector pass (the same messages)
   * before the call queues, instead of a second pass here on the event loop.
   */
  #checkBatch(batch: Batch, ids = true): Batch {
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
    if (ids) {
      checkIds("targetItem", targetItem, c.itemVocab);
      checkIds("targetCat", targetCat, c.catVocab);
      checkLengths("histLen", histLen, c.maxLen);
      checkIds("histItem", histItem, c.itemVocab, c.maxLen);
      checkIds("histCat", histCat, c.catVocab, c.maxLen);
    }
    const inputs: Batch = { targetItem, targetCat, histItem, histCat, histLen };
    if (hasUserField(c)) {
      if (b.user === undefined) throw new TypeError("user: the model has a user field, so user ids (an Int32Array) are required");
      const user = expectInt32Array("user", b.user);
      expectLength("user", user, n, "one per sample");
      if (ids) checkIds("user", user, c.userVocab);
      inputs.user = user;
    }
    return inputs;
  }
}
