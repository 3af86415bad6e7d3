// Quantised weight files (docs/model.md §12): every variant within the §14 bounds of its
// float model, file sizes, the format's validation, and `dien quantize`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { DienModel, paperDefaults, randomBatch, randomTrainBatch } from "../lib";
import { FIXTURES, fixtureBatch, fixtureNames, loadFixture, relativeError } from "./helpers";

const CLI = path.join(__dirname, "..", "dist", "lib", "cli", "dien.js");
const dir = mkdtempSync(path.join(tmpdir(), "dien-quant-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// docs/model.md §14: relative error of the logits against the float model.
const BOUND = { fp16: 2e-3, int8: 2.5e-2 } as const;

/** Replaces the header of a safetensors file with edit(header). */
function editHeader(bytes: Uint8Array, edit: (h: Record<string, Record<string, unknown>>) => void): Buffer {
  const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
  const h = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Record<string, Record<string, unknown>>;
  edit(h);
  let text = JSON.stringify(h);
  while ((8 + text.length) % 8 !== 0) text += " ";
  const head = Buffer.alloc(8 + text.length);
  head.writeBigUInt64LE(BigInt(text.length), 0);
  head.write(text, 8, "utf8");
  return Buffer.concat([head, bytes.subarray(8 + n)]);
}

describe("quantised weight files", () => {
  for (const name of fixtureNames()) {
    it(`${name}: fp16 and int8 within bounds of the float model`, async () => {
      const fx = loadFixture(name);
      const batch = fixtureBatch(fx);
      using float = await DienModel.load(path.join(FIXTURES, `${name}.safetensors`));
      const ref = await float.predict(batch, { logits: true });
      for (const dtype of ["fp16", "int8"] as const) {
        const bytes = await float.toBuffer({ dtype });
        using q = await DienModel.load(bytes);
        expect(q.config).toEqual(float.config);
        expect(relativeError(await q.predict(batch, { logits: true }), ref)).toBeLessThanOrEqual(BOUND[dtype]);
        // A quantised file saved again as float32 keeps the dequantised values exactly.
        using again = await DienModel.load(await q.toBuffer());
        expect(await again.predict(batch, { logits: true })).toEqual(await q.predict(batch, { logits: true }));
      }
    });
  }

  it("int8 files are 3.5x smaller and fp16 files 2x at paper defaults; the header says how they are stored", async () => {
    using model = await DienModel.create(paperDefaults(), { seed: 1 });
    const f32 = await model.toBuffer();
    const f16 = await model.toBuffer({ dtype: "fp16" });
    const i8 = await model.toBuffer({ dtype: "int8" });
    expect(f32.length / f16.length).toBeGreaterThan(1.95);
    expect(f32.length / i8.length).toBeGreaterThanOrEqual(3.5);
    const header = (b: Buffer) => JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString("utf8")) as Record<string, Record<string, unknown>>;
    const h = header(i8);
    expect(h.__metadata__!.quantization).toBe("int8");
    expect(h["embedding.item.weight"]!.dtype).toBe("I8");
    expect(h["embedding.item.weight.scale"]).toMatchObject({ dtype: "BF16", shape: [100_000] });
    expect(header(f16)["embedding.item.weight"]!.dtype).toBe("F16");
    // 1-D tensors (biases, running statistics) stay F32.
    const oneD = Object.entries(h).filter(([k, v]) => k !== "__metadata__" && (v.shape as number[]).length === 1 && !k.endsWith(".scale"));
    expect(oneD.length).toBeGreaterThan(0);
    for (const [, v] of oneD) expect(v.dtype).toBe("F32");
    await expect(model.toBuffer({ dtype: "int4" } as never)).rejects.toThrow(new RangeError('options.dtype: expected one of "float32", "fp16", "int8" but got string "int4"'));
  });

  it("rejects quantised files that do not hold together", async () => {
    const file = path.join(FIXTURES, "dien.safetensors");
    using model = await DienModel.load(file);
    const i8 = await model.toBuffer({ dtype: "int8" });
    const bad = async (bytes: Uint8Array, message: RegExp) => {
      await expect(DienModel.load(bytes)).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringMatching(message) });
    };
    await bad(
      editHeader(i8, (h) => delete h["embedding.item.weight.scale"]),
      /embedding\.item\.weight is I8 but the file has no embedding\.item\.weight\.scale/,
    );
    await bad(
      editHeader(i8, (h) => (h["embedding.cat.weight.scale"]!.shape = [3])),
      /embedding\.cat\.weight\.scale has shape \[3\]/,
    );
    await bad(
      editHeader(i8, (h) => (h["embedding.cat.weight.scale"]!.dtype = "F32")),
      /embedding\.cat\.weight\.scale: dtype F32, expected BF16/,
    );
    const f32 = await model.toBuffer();
    await bad(
      editHeader(f32, (h) => {
        const k = Object.keys(h).find((n) => n !== "__metadata__" && (h[n]!.shape as number[]).length === 1)!;
        h[k]!.dtype = "F16";
      }),
      /dtype F16, expected F32$/,
    );
    // A scale that is not a number: rejected at load.
    const n = Number(i8.readBigUInt64LE(0));
    const h = JSON.parse(i8.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    const nan = Buffer.from(i8);
    nan.writeUInt16LE(0x7fc0, 8 + n + h["embedding.cat.weight.scale"]!.data_offsets[0] + 2); // row 1
    await bad(nan, /embedding\.cat\.weight\.scale holds an invalid scale \(nan\) at row 1/);
  });

  it("dien quantize writes the file and reports sizes and errors", () => {
    const out = path.join(dir, "q.safetensors");
    const r = spawnSync(process.execPath, [CLI, "quantize", "--weights", path.join(FIXTURES, "dien.safetensors"), "--dtype", "int8", "--out", out, "--json"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { bytes: { ratio: number; quantized: number }; error: { relativeLogit: number; maxAbsProbability: number } };
    expect(report.bytes.quantized).toBe(readFileSync(out).length);
    expect(report.bytes.ratio).toBeGreaterThan(2);
    expect(report.error.relativeLogit).toBeLessThanOrEqual(BOUND.int8);
    expect(report.error.maxAbsProbability).toBeLessThan(0.05);
    expect(r.stderr).toMatch(/int8: .*x smaller than/);
  });

  it("quantised tables stay quantised in memory, mapped or read; such a model serves but does not train", async () => {
    using float = await DienModel.create({ ...paperDefaults(), itemVocab: 400_000 }, { seed: 2 });
    const file = path.join(dir, "big.int8.safetensors");
    await float.save(file, { dtype: "int8" });
    using mapped = await DienModel.load(file);
    using read = await DienModel.load(file, { mmap: false });
    const f = float.info();
    for (const q of [mapped.info(), read.info()]) {
      expect(q.parameters).toBe(f.parameters);
      expect(f.weightBytes / q.weightBytes).toBeGreaterThan(3.5);
    }
    expect(mapped.info().mapped).toBe(true);
    expect(read.info().mapped).toBe(false);
    const batch = randomBatch(float.config, 256, 3, 1);
    expect(await mapped.predict(batch)).toEqual(await read.predict(batch));
    expect(() => read.trainer()).toThrow(/quantised .* serves but does not train/);
    await expect(read.lossAndGradients(randomTrainBatch(read.config, 4, 1))).rejects.toMatchObject({
      code: "DIEN_BAD_CONFIG",
      message: expect.stringMatching(/quantised .* serves but does not train/),
    });
  });

  it("refuses to quantise what the dtype cannot hold, before writing anything", async () => {
    const file = path.join(FIXTURES, "dien.safetensors");
    const bytes = Buffer.from(readFileSync(file));
    const n = Number(bytes.readBigUInt64LE(0));
    const h = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    const big = Buffer.from(bytes);
    big.writeFloatLE(1e6, 8 + n + h["mlp.layers.0.weight"]!.data_offsets[0]);
    using model = await DienModel.load(big);
    const out = path.join(dir, "never.safetensors");
    await expect(model.save(out, { dtype: "fp16" })).rejects.toThrow(/tensor mlp\.layers\.0\.weight holds 1e\+06 at element 0, beyond fp16's range/);
    expect(existsSync(out)).toBe(false);
    expect((await model.toBuffer({ dtype: "int8" })).length).toBeGreaterThan(0); // int8 scales hold it
  });

  it("a mapped int8 file checks a table's scales where the row is read", async () => {
    using model = await DienModel.load(path.join(FIXTURES, "dien.safetensors"));
    const i8 = await model.toBuffer({ dtype: "int8" });
    const n = Number(i8.readBigUInt64LE(0));
    const h = JSON.parse(i8.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    const fx = loadFixture("dien");
    const batch = fixtureBatch(fx);
    batch.histItem.fill(1); // every item row read is 1 ...
    batch.targetItem.fill(1);
    const row = 2; // ... until a target reads the row with the bad scale
    const bad = Buffer.from(i8);
    bad.writeUInt16LE(0xbf80, 8 + n + h["embedding.item.weight.scale"]!.data_offsets[0] + 2 * row); // -1.0
    const file = path.join(dir, "badscale.safetensors");
    writeFileSync(file, bad);
    await expect(DienModel.load(file, { mmap: false })).rejects.toThrow(new RegExp(`embedding\\.item\\.weight\\.scale holds an invalid scale \\(-1\\) at row ${row}`));
    using mapped = await DienModel.load(file);
    expect((await mapped.predict(batch)).every(Number.isFinite)).toBe(true);
    batch.targetItem[0] = row;
    await expect(mapped.predict(batch)).rejects.toMatchObject({ code: "DIEN_NON_FINITE" });
  });
});
