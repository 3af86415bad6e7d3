/**
 * Loads the compiled addon and declares its whole surface as one type; the public
 * classes talk only to this interface. A failed load explains what was tried and
 * how to fix it instead of surfacing a bare dlopen message.
 */
import { DienError } from "./errors";
import type { Batch } from "./types";

export interface NativeInfo {
  backend: string;
  reason: string;
  threads: number;
  parameters: number;
  /** The model config as JSON text. */
  config: string;
}

export interface NativeModel {
  predict(
    inputs: Batch,
    out: Float32Array | undefined,
    logits: boolean,
  ): Promise<Float32Array>;
  scoreCandidates(
    histItem: Int32Array,
    histCat: Int32Array,
    histLen: number,
    user: number,
    items: Int32Array,
    cats: Int32Array,
    out: Float32Array | undefined,
    logits: boolean,
  ): Promise<Float32Array>;
  save(): Promise<Buffer>;
  info(): NativeInfo;
  dispose(): void;
  readonly disposed: boolean;
}

export interface NativeEngineOptions {
  threads?: number;
  device?: string;
}

export interface CudaStatus {
  built: boolean;
  usable: boolean;
  devices: number;
  name: string;
  reason: string;
}

export interface NativeAddon {
  loadModel(bytes: Uint8Array, options?: NativeEngineOptions): Promise<NativeModel>;
  createModel(configJson: string, seed: number, options?: NativeEngineOptions): Promise<NativeModel>;
  cudaStatus(): CudaStatus;
  abiVersion: number;
}

const EXPECTED_ABI = 1;
let cached: NativeAddon | undefined;

export function native(): NativeAddon {
  if (cached) return cached;
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bindings = require("bindings") as (name: string) => unknown;
    addon = bindings("dien") as NativeAddon;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message.split("\n").slice(0, 12).join("\n  ") : String(cause);
    throw new DienError(
      "DIEN_NATIVE_LOAD",
      [
        "dien: could not load the native addon (dien.node).",
        `  ${detail}`,
        "Fix: build it with `npm run build:native` (needs CMake >= 3.18 and a C++17 compiler),",
        "or reinstall with `npm ci`, which builds it. Without CMake: `npx node-gyp rebuild` builds the CPU addon.",
      ].join("\n"),
      { cause },
    );
  }
  if (addon.abiVersion !== EXPECTED_ABI)
    throw new DienError(
      "DIEN_NATIVE_LOAD",
      `dien: the native addon speaks ABI ${String(addon.abiVersion)} but this package expects ${EXPECTED_ABI}; rebuild it with \`npm run build:native\``,
    );
  cached = addon;
  return addon;
}
