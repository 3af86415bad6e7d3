import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";

import type { Batch, ModelConfig } from "../lib";

export const FIXTURES = path.join(__dirname, "fixtures");

export interface Fixture {
  name: string;
  config: ModelConfig;
  batch: Record<string, number[]>;
  expected: { logits: number[]; probabilities: number[] };
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -5))
    .sort();
}

export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), "utf8")) as Fixture;
}

export function fixtureBatch(f: Fixture): Batch {
  const b = Object.fromEntries(Object.entries(f.batch).map(([k, v]) => [k, Int32Array.from(v)]));
  return b as unknown as Batch;
}

/** ||out - ref|| / ||ref|| (docs/model.md §14). */
export function relativeError(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i]! - ref[i]!;
    num += d * d;
    den += ref[i]! * ref[i]!;
  }
  return Number.isFinite(num) ? Math.sqrt(num / den) : Infinity;
}

export function poisoned(n: number): Float32Array {
  return new Float32Array(n).fill(Number.NaN);
}

/** The tensors of a safetensors file, parsed independently of the engine. */
export function parseSafetensors(bytes: Uint8Array): { meta: Record<string, string>; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Record<string, unknown>;
  const meta = header.__metadata__ as Record<string, string>;
  delete header.__metadata__;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, rec] of Object.entries(header as Record<string, { shape: number[]; data_offsets: [number, number] }>)) {
    const [b, e] = rec.data_offsets;
    const copy = bytes.slice(8 + n + b, 8 + n + e);
    tensors.set(name, { shape: rec.shape, data: new Float32Array(copy.buffer, copy.byteOffset, (e - b) / 4) });
  }
  return { meta, tensors };
}

/** Rebuilds a safetensors file after editing its header object. */
// The header is edited freely (any key, any value): that is the point of these tests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Header = Record<string, any>;

export function rewriteHeader(bytes: Uint8Array, edit: (h: Header) => void): Buffer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Header;
  edit(header);
  const text = Buffer.from(JSON.stringify(header), "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text, Buffer.from(bytes.subarray(8 + n))]);
}
