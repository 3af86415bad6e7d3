/**
 * Loads the compiled addon and declares its whole surface as one type; the public
 * classes talk only to this interface. A failed load explains what was tried and how
 * to fix it instead of surfacing a bare dlopen message.
 */
import { existsSync } from "node:fs";
import * as path from "node:path";

import { readIsaLevel } from "./environment";
import { dienError, isDienErrorCode } from "./errors";
import type { Batch, TrainBatch } from "./types";

export interface NativeInfo {
  backend: string;
  reason: string;
  threads: number;
  parameters: number;
  /** The model config as JSON text. */
  config: string;
  /** The weight file carries vocabularies (__metadata__.vocab). */
  hasVocab: boolean;
  /** The weights live in a mapped file. */
  mapped: boolean;
  /** Bytes the weights' values take (quantised tables count their stored size). */
  weightBytes: number;
}

/** R requests packed end to end: request r owns [histOffsets[r], histOffsets[r+1]) and [candOffsets[r], candOffsets[r+1]). */
export interface NativeRequests {
  histOffsets: Int32Array;
  histItem: Int32Array;
  histCat: Int32Array;
  /** [R], when the model has a user field. */
  user?: Int32Array;
  candOffsets: Int32Array;
  items: Int32Array;
  cats: Int32Array;
}

/** One prepared call: its inputs already copied into engine-owned memory. Runs once (runCall). */
export interface NativeCall {
  readonly __nativeCall: unique symbol;
}

export interface NativeModel {
  /** Copies the batch now (on this thread); the work runs when the call is passed to runCall(). */
  stagePredict(inputs: Batch, logits: boolean): NativeCall;
  /** R requests packed end to end (lib/requests.ts); resolves every candidate's result in order. */
  stageRequests(requests: NativeRequests, logits: boolean): NativeCall;
  /**
   * The weight file's bytes, as a prepared call (resolves a Buffer); dtype "fp16" / "int8"
   * quantises; vocab, when given, is written as __metadata__.vocab instead of vocab().
   */
  stageSave(dtype?: string, vocab?: string): NativeCall;
  /** The training-mode loss and every gradient (resolves NativeGradients). */
  stageGradients(batch: TrainBatch): NativeCall;
  createTrainer(options: NativeTrainerOptions): NativeTrainer;
  /** Rocket Launching with this model as the booster (train/rocket.h); copies its embeddings into light. */
  createRocketTrainer(light: NativeModel, options: NativeTrainerOptions & { lambda: number; embeddings: "joint" | "booster" }): NativeRocketTrainer;
  info(): NativeInfo;
  /** The vocabularies' JSON text, when the model has them. */
  vocab(): string | undefined;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeTrainerOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  embeddingL2: number;
  clipNorm: number;
  lrDecay: number;
}

export interface NativeLosses {
  loss: number;
  bceLoss: number;
  auxLoss: number;
}

export interface NativeGradients extends NativeLosses {
  logits: Float32Array;
  gradients: Record<string, Float32Array>;
}

export interface NativeTrainerInfo {
  steps: number;
  epoch: number;
  /** The current learning rate (options.lr after the epochs' decay). */
  lr: number;
  options: NativeTrainerOptions;
}

/** Adam state over one engine (train/trainer.h). */
export interface NativeTrainer {
  /** One Adam step; resolves NativeLosses & { gradNorm }. */
  stageStep(batch: TrainBatch): NativeCall;
  /** Weights + optimiser state as a checkpoint file's bytes (resolves a Buffer); vocab as for NativeModel.stageSave. */
  stageSave(vocab?: string): NativeCall;
  endEpoch(): void;
  info(): NativeTrainerInfo;
}

export interface NativeRocketLosses {
  loss: number;
  boosterBce: number;
  boosterAux: number;
  lightBce: number;
  lightAux: number;
  hintLoss: number;
  gradNorm: number;
}

/** Adam state over a booster and a light net sharing their embeddings (train/rocket.h). */
export interface NativeRocketTrainer {
  /** One joint step; resolves NativeRocketLosses. */
  stageStep(batch: TrainBatch): NativeCall;
  endEpoch(): void;
  info(): NativeTrainerInfo & { lambda: number; embeddings: "joint" | "booster" };
}

/** Engine options as the addon takes them: the environment already applied. */
export interface NativeEngineOptions {
  threads?: number;
  device?: string;
  mmap?: boolean;
  /** The device came from DIEN_DEVICE: messages name the variable. */
  deviceFromEnvironment?: boolean;
}

export interface CudaStatus {
  built: boolean;
  usable: boolean;
  devices: number;
  name: string;
  reason: string;
}

export interface NativeBuildInfo {
  /** The engine's ISA level (avx512, avx2, baseline, native, custom). */
  level: string;
  /** The -march the engine was built for ("native", "x86-64-v3", ...; "" or "none" for the compiler default). */
  march: string;
  /** CPU features the build may use, space-separated. */
  builtIsa: string;
  /** CPU features this machine has (of those a build can use), space-separated. */
  runningIsa: string;
  /** Features the build uses that this CPU lacks (empty: the addon would not have loaded otherwise). */
  missingIsa: string;
  isaNamesKnown: boolean;
  cuda: boolean;
}

/** Tables of a NativeVocab: 0 items, 1 cats, 2 users. */
export type VocabTable = 0 | 1 | 2;

/** Vocabularies parsed into a native index (native/data/vocab_index.h); tokens compare as JS strings do. */
export interface NativeVocab {
  has(table: VocabTable): boolean;
  size(table: VocabTable): number;
  /** 0 for an unknown token. */
  id(table: VocabTable, token: string): number;
  /** undefined for 0 and ids outside the table. */
  token(table: VocabTable, id: number): string | undefined;
  /** Unknown tokens: 0; a non-string element is a TypeError naming its index. */
  encode(table: VocabTable, tokens: readonly string[]): Int32Array;
  tokens(table: VocabTable): string[];
  /** The vocabularies' JSON text as JSON.stringify writes it. */
  json(): Buffer;
  /** Native memory held. */
  readonly bytes: number;
}

export interface NativeAddon {
  /**
   * Vocabularies from their JSON text ({ items, cats, users? }, copied now, or taken over
   * when it is an array from vocabText), parsed and indexed on a worker thread;
   * DIEN_BAD_WEIGHTS "vocab.<table>[i]: ..." when malformed. sha256: the text's, checked
   * by the caller; an index parsed from the same text anywhere in this process (another
   * model, a worker thread) is then shared, not parsed again.
   */
  parseVocab(text: Uint8Array | string, sha256?: string): Promise<NativeVocab>;
  /** The same, on this thread. */
  parseVocabSync(text: Uint8Array | string, sha256?: string): NativeVocab;
  /**
   * n zero bytes owned by the addon, which parseVocab takes over without a copy (detaching
   * the array): a vocabulary file is read into them. undefined where the runtime allows no
   * external buffers.
   */
  vocabText(n: number): Uint8Array | undefined;
  /** A path (read on a worker thread) or the file's bytes (copied now). */
  loadModel(source: string | Uint8Array, options?: NativeEngineOptions): Promise<NativeModel>;
  createModel(configJson: string, seed: number, options?: NativeEngineOptions, vocabJson?: string): Promise<NativeModel>;
  /** A checkpoint written by a trainer: the model and its trainer. */
  resumeTrainer(path: string, options?: NativeEngineOptions): Promise<{ model: NativeModel; trainer: NativeTrainer }>;
  /** Queues a prepared call (once); resolves its results in a new array (a Buffer for stageSave). */
  runCall<T = Float32Array>(call: NativeCall): Promise<T>;
  cudaStatus(): CudaStatus;
  buildInfo(): NativeBuildInfo;
  errorCodes(): { code: string; meaning: string }[];
  /** Throws the native error of a code through the path every native failure takes (tests). */
  raiseCoded(code: string, message: string): never;
  /**
   * Fault injection (tests): the n-th checked CUDA call from now fails with DIEN_CUDA; 0
   * disarms. Returns how many calls the previous arming had left (0 once it fired), -1
   * when the addon has no CUDA.
   */
  injectCudaFault(n: number): number;
  abiVersion: number;
}

const EXPECTED_ABI = 11;
let cached: NativeAddon | undefined;

/** The engine level the loader chose, and the levels this build has that this CPU runs. */
export interface LoadedIsa {
  level: string;
  available: string[];
}
let loadedIsa: LoadedIsa | undefined;

/** What dien-cpu.node (napi/cpu_probe.cpp) reports: each built level, best first. */
interface CpuProbe {
  cpu: { running: string; levels: { name: string; march: string; built: string; missing: string }[] };
}

function requireFile(file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file);
}

/** A compiled file of a source build, where `bindings` looks (build/Release, ...); undefined when absent. */
function locateBuilt(file: string): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bindings = require("bindings") as (o: { bindings: string; path: true }) => string;
  try {
    return bindings({ bindings: file, path: true });
  } catch {
    return undefined;
  }
}

/** The prebuilt probe for this OS and architecture (prebuilds/<platform>-<arch>/, scripts/prebuild.js), if the package has one. */
function locatePrebuilt(): string | undefined {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const root = (require("bindings") as { getRoot(file: string): string }).getRoot(__filename);
  const file = path.join(root, "prebuilds", `${process.platform}-${process.arch}`, "dien-cpu.node");
  return existsSync(file) ? file : undefined;
}

/**
 * Picks the engine: the probe (compiled for the baseline, safe on any CPU) says which of
 * the built levels this CPU runs, and the best of those (or DIEN_ISA's) is loaded; a
 * level this CPU lacks is never loaded. node-gyp's build has one portable engine and no probe.
 */
function loadAddon(): NativeAddon {
  const want = readIsaLevel();
  // DIEN_ADDON_PATH: an explicit engine file (a sanitizer build, a prebuilt elsewhere).
  const explicit = process.env.DIEN_ADDON_PATH;
  if (explicit) {
    const addon = requireFile(explicit) as NativeAddon;
    const level = addon.buildInfo?.().level || "custom";
    if (want && want !== level)
      throw dienError("DIEN_BAD_CONFIG", `DIEN_ISA=${want} asks for another engine than DIEN_ADDON_PATH=${explicit} (level ${level}); set one of them`);
    loadedIsa = { level, available: [level] };
    return addon;
  }
  // A source build wins over the prebuilt addon: CMake's (probe and levels), then
  // node-gyp's (one portable engine, no probe), then prebuilds/.
  let probePath = locateBuilt("dien-cpu.node");
  if (!probePath) {
    const portable = locateBuilt("dien-baseline.node");
    if (portable) {
      if (want && want !== "baseline")
        throw dienError("DIEN_NATIVE_LOAD", `DIEN_ISA=${want}: this build (node-gyp's) has only the baseline engine`);
      loadedIsa = { level: "baseline", available: ["baseline"] };
      return requireFile(portable) as NativeAddon;
    }
    probePath = locatePrebuilt();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (!probePath) return (require("bindings") as (name: string) => NativeAddon)("dien-cpu.node"); // throws, listing where it looked
  }
  const dir = path.dirname(probePath);
  const { cpu } = requireFile(probePath) as CpuProbe;
  const fileOf = (level: string) => path.join(dir, `dien-${level}.node`);
  const built = cpu.levels.filter((l) => existsSync(fileOf(l.name)));
  const runnable = built.filter((l) => l.missing === "");
  const names = (ls: { name: string }[]) => (ls.length ? ls.map((l) => l.name).join(", ") : "none");
  let pick = runnable[0];
  if (want) {
    pick = built.find((l) => l.name === want);
    if (!pick) throw dienError("DIEN_NATIVE_LOAD", `DIEN_ISA=${want}: this build has no ${want} engine (it has ${names(built)}, in ${dir})`);
    if (pick.missing)
      throw dienError("DIEN_UNSUPPORTED_CPU", `DIEN_ISA=${want}: this CPU lacks instructions the ${want} engine uses (${pick.missing}); it runs ${names(runnable)}`);
  }
  if (!pick)
    throw dienError(
      "DIEN_UNSUPPORTED_CPU",
      `dien: this CPU runs none of the engines in ${dir} (${built.map((l) => `${l.name} lacks ${l.missing}`).join("; ") || "none built"}). Rebuild with \`npm rebuild dien\`.`,
    );
  loadedIsa = { level: pick.name, available: runnable.map((l) => l.name) };
  return requireFile(fileOf(pick.name)) as NativeAddon;
}

/** The engine level in use (loads the addon if it is not yet). */
export function loadedIsaLevel(): LoadedIsa {
  native();
  return loadedIsa!;
}

export function native(): NativeAddon {
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    addon = loadAddon();
  } catch (cause) {
    // The addon's entry point refuses a CPU that lacks what it was built for.
    const code = (cause as { code?: unknown } | null)?.code;
    if (isDienErrorCode(code) && cause instanceof Error) throw dienError(code, cause.message, cause);
    const detail = cause instanceof Error ? cause.message.split("\n").slice(0, 12).join("\n  ") : String(cause);
    throw dienError(
      "DIEN_NATIVE_LOAD",
      [
        "dien: could not load the native addon (dien-cpu.node and an engine, dien-<level>.node).",
        `  ${detail}`,
        "Fix: build it with `npm rebuild dien` (needs CMake >= 3.19 and a C++17 compiler).",
        "Without CMake: `npx node-gyp rebuild` in the package folder builds a portable CPU addon.",
      ].join("\n"),
      cause,
    );
  }
  if (addon.abiVersion !== EXPECTED_ABI)
    throw dienError(
      "DIEN_NATIVE_LOAD",
      `dien: the native addon speaks ABI ${String(addon.abiVersion)} but this package expects ${EXPECTED_ABI}; rebuild it with \`npm rebuild dien\``,
    );
  cached = addon;
  return addon;
}
