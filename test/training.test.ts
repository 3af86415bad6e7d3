// Training (docs/model.md §8-9): gradients against PyTorch autograd in float64
// (python/make_train_fixtures.py), Adam's loss curve against the reference optimiser,
// determinism, checkpoints, and what a step may and may not change.
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel, type TrainBatch, Trainer } from "../lib";
import { FIXTURES } from "./helpers";

const TRAIN = path.join(FIXTURES, "train");

interface GradientFixture {
  batch: Record<string, number[]>;
  loss: number;
  bceLoss: number;
  auxLoss: number;
  logits: number[];
  gradients: Record<string, number[]>;
}

function trainBatch(raw: Record<string, number[]>): TrainBatch {
  const b: Record<string, Int32Array | Float32Array> = {};
  for (const [k, v] of Object.entries(raw)) b[k] = k === "label" ? Float32Array.from(v) : Int32Array.from(v);
  return b as unknown as TrainBatch;
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** ||got - ref|| / ||ref||, judged absolutely (against 1e-3) where the true gradient is ~0. */
function gradientError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < ref.length; i++) d += (got[i]! - ref[i]!) ** 2;
  return Math.sqrt(d) / Math.max(norm(ref), 1e-3);
}

const gradientCases = readdirSync(TRAIN)
  .filter((f) => f.endsWith(".json") && f !== "curve.json")
  .map((f) => f.slice(0, -5))
  .sort();

describe("gradients match PyTorch autograd", () => {
  it("covers every zoo model, evolution variant, cell form, attention, activation and aux net", () => {
    expect(gradientCases.length).toBeGreaterThanOrEqual(17);
  });

  for (const name of gradientCases) {
    it(`${name}: loss and every gradient within 1e-4 of float64`, async () => {
      const fx = JSON.parse(readFileSync(path.join(TRAIN, `${name}.json`), "utf8")) as GradientFixture;
      using model = await DienModel.load(path.join(TRAIN, `${name}.safetensors`), { device: "cpu" });
      const batch = trainBatch(fx.batch);
      const lengths = Array.from(batch.histLen);
      expect(lengths).toEqual(expect.arrayContaining([0, 1, model.config.maxLen]));
      const r = await model.lossAndGradients(batch);
      expect(Math.abs(r.loss - fx.loss) / fx.loss).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(r.bceLoss - fx.bceLoss)).toBeLessThanOrEqual(1e-4 * fx.bceLoss);
      expect(Math.abs(r.auxLoss - fx.auxLoss)).toBeLessThanOrEqual(1e-4 * Math.max(fx.auxLoss, 1e-3));
      expect(gradientError(r.logits, fx.logits)).toBeLessThanOrEqual(1e-4);
      expect(Object.keys(r.gradients).sort()).toEqual(Object.keys(fx.gradients).sort());
      for (const [tensor, ref] of Object.entries(fx.gradients)) {
        const got = r.gradients[tensor]!;
        expect(got.length, tensor).toBe(ref.length);
        expect(gradientError(got, ref), tensor).toBeLessThanOrEqual(1e-4);
      }
    });
  }
});

/** Park-Miller MINSTD, as python/make_train_fixtures.py draws the curve's batches. */
class Minstd {
  #s: number;
  constructor(seed: number) {
    this.#s = seed;
  }
  next(n: number): number {
    this.#s = (this.#s * 48271) % 2147483647;
    return this.#s % n;
  }
}

function curveBatch(c: DienModel["config"], rng: Minstd, B: number): TrainBatch {
  const T = c.maxLen;
  const b = {
    targetItem: new Int32Array(B), targetCat: new Int32Array(B), user: new Int32Array(B), histLen: new Int32Array(B),
    histItem: new Int32Array(B * T), histCat: new Int32Array(B * T), negItem: new Int32Array(B * T), negCat: new Int32Array(B * T),
    label: new Float32Array(B),
  };
  for (let i = 0; i < B; i++) {
    b.targetItem[i] = rng.next(c.itemVocab);
    b.targetCat[i] = rng.next(c.catVocab);
    b.user[i] = rng.next(c.userVocab);
    const L = rng.next(T + 1);
    b.histLen[i] = L;
    for (const field of ["histItem", "histCat", "negItem", "negCat"] as const)
      for (let t = 0; t < T; t++) b[field][i * T + t] = rng.next(field.endsWith("Item") ? c.itemVocab : c.catVocab);
    b.label[i] = L > 0 ? (b.targetCat[i]! % 2 === b.histCat[i * T]! % 2 ? 1 : 0) : rng.next(2);
  }
  return b;
}

async function curveModel(): Promise<DienModel> {
  return DienModel.load(path.join(TRAIN, "curve.safetensors"), { device: "cpu" });
}

describe("Adam", () => {
  it("tracks the reference optimiser's loss curve within 1e-3 for 300 steps", async () => {
    const ref = JSON.parse(readFileSync(path.join(TRAIN, "curve.json"), "utf8")) as { seed: number; batch: number; lr: number; losses: number[] };
    using model = await curveModel();
    const trainer = model.trainer({ lr: ref.lr });
    const rng = new Minstd(ref.seed);
    let worst = 0;
    for (const expected of ref.losses) {
      const { loss } = await trainer.step(curveBatch(model.config, rng, ref.batch));
      worst = Math.max(worst, Math.abs(loss - expected));
    }
    expect(worst).toBeLessThanOrEqual(1e-3);
    expect(ref.losses.at(-1)!).toBeLessThan(ref.losses[0]! * 0.7); // it learns
    expect(trainer.steps).toBe(ref.losses.length);
  });

  it("is deterministic: same data, bit-identical losses, for any thread count", async () => {
    const runs: number[][] = [];
    for (const threads of [1, 2, 1]) {
      using model = await DienModel.load(path.join(TRAIN, "curve.safetensors"), { device: "cpu", threads });
      const trainer = model.trainer({ lr: 1e-2, clipNorm: 5, embeddingL2: 1e-4 });
      const rng = new Minstd(7);
      const losses: number[] = [];
      for (let s = 0; s < 15; s++) losses.push((await trainer.step(curveBatch(model.config, rng, 32))).loss);
      runs.push(losses);
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it("resumes from a checkpoint bit for bit, and a trained model saves as an ordinary weight file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-train-"));
    const ckpt = path.join(dir, "ckpt.safetensors");
    using model = await curveModel();
    const trainer = model.trainer({ lr: 5e-3, lrDecay: 0.5 });
    const rng = new Minstd(99);
    for (let s = 0; s < 8; s++) await trainer.step(curveBatch(model.config, rng, 16));
    await trainer.endEpoch();
    await trainer.save(ckpt);
    const later = Array.from({ length: 6 }, () => curveBatch(model.config, rng, 16));
    const uninterrupted: number[] = [];
    for (const b of later) uninterrupted.push((await trainer.step(b)).loss);

    const resumed = await Trainer.resume(ckpt, { device: "cpu" });
    using resumedModel = resumed.model;
    expect(resumed.steps).toBe(8);
    expect(resumed.epoch).toBe(1);
    expect(resumed.lr).toBe(2.5e-3);
    expect(resumed.options).toEqual({ lr: 5e-3, betas: [0.9, 0.999], eps: 1e-8, embeddingL2: 0, clipNorm: 0, lrDecay: 0.5 });
    expect(resumed.options).toEqual(trainer.options);
    const again: number[] = [];
    for (const b of later) again.push((await resumed.step(b)).loss);
    expect(again).toEqual(uninterrupted);

    // predict after training == predict after save + load; the checkpoint loads as weights too
    const probe = curveBatch(model.config, rng, 24);
    const trained = await model.predict(probe);
    await model.save(path.join(dir, "trained.safetensors"));
    using reloaded = await DienModel.load(path.join(dir, "trained.safetensors"));
    expect(await reloaded.predict(probe)).toEqual(trained);
    expect(await resumedModel.predict(probe)).toEqual(trained);
    using fromCheckpoint = await DienModel.load(ckpt);
    expect(fromCheckpoint.config).toEqual(model.config);
  });

  it("a predict queued during a step sees the updated weights, never half of them", async () => {
    using model = await curveModel();
    const trainer = model.trainer({ lr: 1e-2 });
    const b = curveBatch(model.config, new Minstd(3), 64);
    const before = await model.predict(b);
    const [, during] = await Promise.all([trainer.step(b), model.predict(b)]);
    const after = await model.predict(b);
    expect(during).toEqual(after);
    expect(after).not.toEqual(before);
  });
});

describe("what training may change", () => {
  it("lossAndGradients changes nothing and is repeatable", async () => {
    using model = await curveModel();
    const b = curveBatch(model.config, new Minstd(5), 20);
    const before = await model.predict(b);
    const bytes = await model.toBuffer();
    const g1 = await model.lossAndGradients(b);
    const g2 = await model.lossAndGradients(b);
    expect(g2.loss).toBe(g1.loss);
    for (const k of Object.keys(g1.gradients)) expect(g2.gradients[k]).toEqual(g1.gradients[k]);
    expect(await model.predict(b)).toEqual(before);
    expect((await model.toBuffer()).equals(bytes)).toBe(true);
    // running statistics are not gradients; embeddings are dense with untouched rows 0
    expect(Object.keys(g1.gradients).some((k) => k.includes("running"))).toBe(false);
    expect(g1.gradients["embedding.item.weight"]!.length).toBe(model.config.itemVocab * model.config.dItem);
  });

  it("a training step updates the running statistics; a gradient query does not", async () => {
    using model = await curveModel();
    const b = curveBatch(model.config, new Minstd(8), 20);
    const stats = async () => {
      const m = await DienModel.load(await model.toBuffer());
      const bytes = await m.toBuffer();
      m.dispose();
      return bytes;
    };
    const s0 = await stats();
    await model.lossAndGradients(b);
    expect((await stats()).equals(s0)).toBe(true);
    await model.trainer().step(b);
    expect((await stats()).equals(s0)).toBe(false);
  });

  it("rejects a bad batch before any work, naming field, index and value, and changes nothing", async () => {
    using model = await curveModel();
    const trainer = model.trainer();
    const good = curveBatch(model.config, new Minstd(11), 6);
    const before = await model.predict(good);
    const bad = (patch: Partial<TrainBatch>): TrainBatch => ({ ...good, ...patch });
    await expect(trainer.step(bad({ label: Float32Array.of(0, 1, 0.5, 1, 0, 0) }))).rejects.toThrow("label[2]: expected 0 or 1 but got 0.5");
    await expect(trainer.step(bad({ label: Float32Array.of(0, NaN, 0, 1, 0, 0) }))).rejects.toThrow("label[1]: expected 0 or 1 but got NaN");
    await expect(trainer.step(bad({ label: new Float32Array(5) }))).rejects.toThrow(/label: expected 6/);
    const negItem = good.negItem!.slice();
    negItem[13] = 40;
    await expect(trainer.step(bad({ negItem }))).rejects.toThrow("negItem[1, 5]: id 40 is outside [0, 40)");
    await expect(trainer.step({ ...good, negItem: undefined, negCat: undefined })).rejects.toThrow(/negItem and negCat .* are required/);
    await expect(model.lossAndGradients(bad({ label: new Int32Array(6) as unknown as Float32Array }))).rejects.toThrow(TypeError);
    expect(() => model.trainer({ lr: -1 })).toThrow("options.lr: expected a number > 0 but got -1");
    expect(() => model.trainer({ betas: [0.9, 1] })).toThrow("options.betas[1]");
    expect(() => model.trainer({ learningRate: 1 } as never)).toThrow(/learningRate/);
    expect(trainer.steps).toBe(0);
    expect(await model.predict(good)).toEqual(before);
  });

  it("a model without a GRU refuses negatives", async () => {
    using model = await DienModel.load(path.join(TRAIN, "din.safetensors"));
    const fx = JSON.parse(readFileSync(path.join(TRAIN, "din.json"), "utf8")) as GradientFixture;
    const batch = trainBatch(fx.batch);
    const T = model.config.maxLen;
    const n = batch.targetItem.length * T;
    await expect(model.lossAndGradients({ ...batch, negItem: new Int32Array(n), negCat: new Int32Array(n) })).rejects.toThrow(/no GRU/);
  });
});
