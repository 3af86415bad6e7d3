// Weight files: round trips, atomic saves, and every way a file can be corrupt,
// truncated or lying, each rejected whole with a message naming the tensor or key.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

import { BadConfigError, BadWeightsError, DienError, type DienErrorCode, DienModel, IoError, NonFiniteError, randomBatch } from "../lib";
import { HANDLE } from "../lib/model";
import { native } from "../lib/native";
import { FIXTURES, parseSafetensors, rewriteHeader } from "./helpers";

const dir = mkdtempSync(path.join(tmpdir(), "dien-weights-"));
let good: Buffer;

beforeAll(() => {
  good = readFileSync(path.join(FIXTURES, "dien.safetensors"));
});

async function rejection(bytes: Uint8Array, code: DienErrorCode = "DIEN_BAD_WEIGHTS"): Promise<DienError> {
  const err = await DienModel.load(bytes).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(code === "DIEN_BAD_WEIGHTS" ? BadWeightsError : BadConfigError);
  expect((err as DienError).code).toBe(code);
  return err as DienError;
}

describe("save and load", () => {
  it("save() writes the tensors a load read, atomically, and loads back identically", async () => {
    using model = await DienModel.load(good);
    const target = path.join(dir, "copy.safetensors");
    writeFileSync(target, "old contents");
    await model.save(target);
    const saved = readFileSync(target);
    const original = parseSafetensors(good);
    const written = parseSafetensors(saved);
    expect([...written.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
    for (const [name, t] of original.tensors) expect(written.tensors.get(name), name).toEqual(t);
    expect(JSON.parse(written.meta.config!)).toEqual(JSON.parse(original.meta.config!));
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    using again = await DienModel.load(target);
    expect(Buffer.compare(await again.toBuffer(), saved)).toBe(0); // a second save is byte-identical
    const batch = randomBatch(model.config, 20, 9, 0);
    expect(await again.predict(batch)).toEqual(await model.predict(batch));
  });

  it("a failed save leaves no temp file and the old file intact", async () => {
    using model = await DienModel.load(good);
    await expect(model.save(path.join(dir, "missing-folder", "x.safetensors"))).rejects.toThrow(/ENOENT/);
    const target = path.join(dir, "kept.safetensors");
    writeFileSync(target, "old contents");
    await expect(model.save(dir)).rejects.toThrow(); // renaming a file over a folder fails
    expect(readFileSync(target, "utf8")).toBe("old contents");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("a file that cannot be read is a DIEN_IO DienError naming the path", async () => {
    const missing = path.join(dir, "nope.safetensors");
    const err = await DienModel.load(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IoError);
    expect(err).toMatchObject({ code: "DIEN_IO" });
    expect((err as Error).message).toContain(`${missing}: cannot open the weight file (ENOENT`);
    await expect(DienModel.load(dir)).rejects.toMatchObject({ code: "DIEN_IO", message: expect.stringContaining("EISDIR") });
  });

  it("the addon writes __metadata__.vocab as it is told (lib/vocab-file.ts) and checks what it is told", async () => {
    using model = await DienModel.load(good);
    const handle = model[HANDLE]();
    const text = JSON.stringify({ items: ["", "x"], cats: [""] });
    const bytes = await native().runCall<Buffer>(handle.stageSave(undefined, text));
    expect(parseSafetensors(bytes).meta.vocab).toBe(text);
    expect(() => handle.stageSave(undefined, 42 as unknown as string)).toThrow(new TypeError("vocab: expected a string but got number"));
  });

  it("file errors name the path", async () => {
    const p = path.join(dir, "short.safetensors");
    writeFileSync(p, good.subarray(0, 100));
    await expect(DienModel.load(p)).rejects.toThrow(`${p}: weights:`);
  });
});

describe("corrupt, truncated and lying files are rejected whole", () => {
  const cases: [string, () => Uint8Array, string, DienErrorCode?][] = [
    ["empty file", () => new Uint8Array(0), "too short"],
    ["header length past the end", () => { const b = Buffer.from(good); b.writeBigUInt64LE(BigInt(good.length)); return b; }, "runs past the end of the file"],
    ["header not JSON", () => { const b = Buffer.from(good); b[8] = 0x41; return b; }, "invalid JSON"],
    ["truncated data", () => good.subarray(0, good.length - 1), "truncated"],
    ["trailing bytes", () => Buffer.concat([good, Buffer.alloc(4)]), "trailing bytes"],
    ["missing tensor", () => rewriteHeader(good, (h) => { delete h["evolution.bias_hh"]; }), "missing tensor evolution.bias_hh"],
    ["unexpected tensor", () => rewriteHeader(good, (h) => { h["mlp.extra.weight"] = h["mlp.out.bias"]; }), "unexpected tensor mlp.extra.weight"],
    ["num_batches_tracked is not a weight", () => rewriteHeader(good, (h) => { h["mlp.bn.num_batches_tracked"] = h["mlp.out.bias"]; }), "unexpected tensor mlp.bn.num_batches_tracked"],
    ["wrong dtype", () => rewriteHeader(good, (h) => { h["mlp.out.bias"].dtype = "F64"; }), "tensor mlp.out.bias: dtype F64, expected F32"],
    ["wrong shape", () => rewriteHeader(good, (h) => { h["attention.query.weight"].shape = [36, 35]; }), "tensor attention.query.weight has shape [36, 35]"],
    ["offsets of the wrong size", () => rewriteHeader(good, (h) => { h["mlp.out.bias"].data_offsets[1] += 4; }), "tensor mlp.out.bias: data_offsets"],
    ["overlapping offsets", () => rewriteHeader(good, (h) => { h["extractor.bias_hh_l0"].data_offsets = h["extractor.bias_ih_l0"].data_offsets; }), "overlap"],
    ["negative offsets", () => rewriteHeader(good, (h) => { h["mlp.out.bias"].data_offsets = [-4, 0]; }), "non-negative integers"],
    ["config contradicting the shapes", () => rewriteHeader(good, (h) => { const c = JSON.parse(h.__metadata__.config); c.hidden = 40; h.__metadata__.config = JSON.stringify(c); }), "but the config"],
    // The config's own rules are config errors (DIEN_BAD_CONFIG), wherever the config comes from.
    ["config missing a key", () => rewriteHeader(good, (h) => { const c = JSON.parse(h.__metadata__.config); delete c.bnEps; h.__metadata__.config = JSON.stringify(c); }), 'missing key "bnEps"', "DIEN_BAD_CONFIG"],
    ["config with an unknown key", () => rewriteHeader(good, (h) => { const c = JSON.parse(h.__metadata__.config); c.dropout = 0.1; h.__metadata__.config = JSON.stringify(c); }), 'unknown key "dropout"', "DIEN_BAD_CONFIG"],
    ["config value of the wrong type", () => rewriteHeader(good, (h) => { const c = JSON.parse(h.__metadata__.config); c.mlpBn = "no"; h.__metadata__.config = JSON.stringify(c); }), "config.mlpBn: expected a boolean", "DIEN_BAD_CONFIG"],
    ["config that is not JSON", () => rewriteHeader(good, (h) => { h.__metadata__.config = '{"model": "dien",'; }), "config: invalid JSON", "DIEN_BAD_CONFIG"],
    ["no metadata", () => rewriteHeader(good, (h) => { delete h.__metadata__; }), "__metadata__"],
    ["another format", () => rewriteHeader(good, (h) => { h.__metadata__.format = "pt"; }), '__metadata__.format is "pt"'],
    ["another version", () => rewriteHeader(good, (h) => { h.__metadata__.version = "2"; }), '__metadata__.version is "2"'],
  ];
  for (const [what, make, message, code] of cases)
    it(what, async () => {
      expect((await rejection(make(), code)).message).toContain(message);
    });

  it("non-finite values, naming tensor and element", async () => {
    const { tensors } = parseSafetensors(good);
    const names = [...tensors.keys()];
    expect(names).toContain("mlp.layers.1.weight");
    // Find the data offset of mlp.layers.1.weight and put a NaN in its 5th element.
    const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(good.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    const bad = Buffer.from(good);
    bad.writeFloatLE(Number.POSITIVE_INFINITY, 8 + n + header["mlp.layers.1.weight"]!.data_offsets[0] + 4 * 5);
    expect((await rejection(bad)).message).toContain("tensor mlp.layers.1.weight holds a non-finite value (inf) at element 5");
  });

  it("a random byte flip in the header never crashes", async () => {
    const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const n = Number(view.getBigUint64(0, true));
    for (let i = 0; i < 200; i++) {
      const bad = Buffer.from(good);
      const at = 8 + ((i * 7919) % n);
      bad[at] = (bad[at]! + 1 + (i % 200)) & 0xff;
      const result = await DienModel.load(bad).then(
        (m) => { m.dispose(); return "loaded"; },
        (e: unknown) => (e as DienError).code,
      );
      expect(["loaded", "DIEN_BAD_WEIGHTS", "DIEN_BAD_CONFIG"]).toContain(result);
    }
  });
});

describe("validate before allocating, and what cannot be computed", () => {
  it("a few hundred bytes declaring 250 million items are rejected at once, without allocating", () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, "children", "huge-header.cjs")], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7)) as { bytes: number; code: string; message: string; ms: number; rssGrowthMb: number };
    expect(result.bytes).toBeLessThan(1000);
    expect(result.code).toBe("DIEN_BAD_WEIGHTS");
    expect(result.message).toContain("missing tensor");
    expect(result.ms).toBeLessThan(1000); // 13 s when the tables were allocated first
    expect(result.rssGrowthMb).toBeLessThan(100); // 2 GB when the tables were allocated first
  });

  it("finite weights that overflow float32 fail with DIEN_NON_FINITE instead of returning NaN", async () => {
    const view = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(good.subarray(8, 8 + n).toString("utf8")) as Record<string, { data_offsets: [number, number] }>;
    const bad = Buffer.from(good);
    const [b, e] = header["mlp.out.weight"]!.data_offsets;
    for (let at = 8 + n + b; at < 8 + n + e; at += 4) bad.writeFloatLE(3.4e38, at);
    using model = await DienModel.load(bad);
    const batch = randomBatch(model.config, 6, 2);
    for (const logits of [false, true]) {
      const err = await model.predict(batch, { logits }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err).toMatchObject({ code: "DIEN_NON_FINITE", message: expect.stringMatching(/^sample \d+: the logit is (-?inf|nan)/) });
    }
    const c = await model.scoreCandidates({ histItem: batch.histItem.subarray(0, 5), histCat: batch.histCat.subarray(0, 5), user: 0 }, { items: batch.targetItem, cats: batch.targetCat }).catch((x: unknown) => x);
    expect(c).toMatchObject({ code: "DIEN_NON_FINITE", message: expect.stringMatching(/^candidate \d+: /) });
  });
});

describe("create()", () => {
  it("is deterministic for a seed and follows the section 9 initialisation", async () => {
    const cfg = { model: "dien" as const, itemVocab: 30, catVocab: 5, maxLen: 8, gruCell: "reset-before" as const };
    using a = await DienModel.create(cfg, { seed: 7 });
    using b = await DienModel.create(cfg, { seed: 7 });
    using c = await DienModel.create(cfg, { seed: 8 });
    const [ba, bb, bc] = await Promise.all([a.toBuffer(), b.toBuffer(), c.toBuffer()]);
    expect(Buffer.compare(ba, bb)).toBe(0);
    expect(Buffer.compare(ba, bc)).not.toBe(0);
    const { meta, tensors } = parseSafetensors(ba);
    expect(meta.format).toBe("dien");
    expect(JSON.parse(meta.config!)).toEqual(a.config);
    const t = (name: string) => tensors.get(name)!.data;
    expect(Array.from(t("embedding.item.weight").subarray(0, 18))).toEqual(new Array(18).fill(0));
    const emb = t("embedding.item.weight").subarray(18);
    const std = Math.sqrt(emb.reduce((s, x) => s + x * x, 0) / emb.length);
    expect(std).toBeGreaterThan(0.008);
    expect(std).toBeLessThan(0.012);
    const H = 36;
    expect(Array.from(t("extractor.bias_ih_l0").subarray(0, 2 * H))).toEqual(new Array(2 * H).fill(1)); // TF gate bias
    expect(Array.from(t("extractor.bias_ih_l0").subarray(2 * H))).toEqual(new Array(H).fill(0));
    expect(Array.from(t("extractor.bias_hh_l0"))).toEqual(new Array(3 * H).fill(0));
    const limit = Math.sqrt(6 / (H + 36));
    expect(Math.max(...Array.from(t("extractor.weight_ih_l0")).map(Math.abs))).toBeLessThanOrEqual(limit);
    expect(Math.max(...Array.from(t("extractor.weight_ih_l0")).map(Math.abs))).toBeGreaterThan(0.9 * limit);
    expect(Array.from(t("attention.query_prelu.weight"))).toEqual(new Array(H).fill(Math.fround(0.1)));
    expect(Array.from(t("mlp.act.0.alpha"))).toEqual(new Array(200).fill(0));
    expect(Array.from(t("mlp.act.0.running_var"))).toEqual(new Array(200).fill(1));
    expect(tensors.has("aux.layers.0.weight")).toBe(true);
  });

  it("info() reports backend, reason, threads, parameters and config", async () => {
    using m = await DienModel.create({ itemVocab: 10, catVocab: 3, maxLen: 5 }, { threads: 1 });
    const info = m.info();
    expect(info.backend).toBe("cpu");
    expect(info.reason.length).toBeGreaterThan(0);
    expect(info.threads).toBe(1);
    const { tensors } = parseSafetensors(await m.toBuffer());
    expect(info.parameters).toBe([...tensors.values()].reduce((s, t) => s + t.data.length, 0));
    expect(info.config.model).toBe("dien");
  });
});
