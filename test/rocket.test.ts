// Rocket Launching (docs/model.md §11) through the TypeScript API: the gradient block (the
// hint never reaches the booster's own tensors), the shared embedding layer, the hint
// pulling the light net towards the booster, validation, early stopping on a hold-out, and
// `dien compress` end to end.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { DienModel, type ModelConfig, type RocketTrainer, randomTrainBatch, rocketTrainer } from "../lib";
import { rocketLaunch } from "../lib/cli/compress";
import { sourceAuc } from "../lib/cli/pipeline";
import { VocabularyBuilder, encodeSamples } from "../lib/data/dataset";
import { driftingInterests } from "../lib/data/drift";
import { holdOut, memorySource } from "../lib/data/store";
import { parseSafetensors } from "./helpers";

const dir = mkdtempSync(path.join(tmpdir(), "dien-rocket-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = { model: "dien", itemVocab: 300, catVocab: 20, userVocab: 40, dItem: 8, dCat: 8, dUser: 8, maxLen: 12, attentionHidden: [16, 8], mlpHidden: [24, 12], auxHidden: [12, 6] } as const;
const EMBEDDINGS = ["embedding.item.weight", "embedding.cat.weight", "embedding.user.weight"];

async function tensors(m: DienModel) {
  return parseSafetensors(await m.toBuffer()).tensors;
}

async function pair(lightOverrides: Partial<ModelConfig> = {}, boosterSeed = 1): Promise<[DienModel, DienModel]> {
  return [await DienModel.create({ ...BASE, hidden: 24 }, { seed: boosterSeed }), await DienModel.create({ ...BASE, hidden: 8, ...lightOverrides }, { seed: 2 })];
}

describe("Rocket Launching", () => {
  it("blocks the hint's gradient from the booster: one joint step moves its own tensors exactly as a plain step", async () => {
    const [booster, light] = await pair();
    using plain = await DienModel.create({ ...BASE, hidden: 24 }, { seed: 1 });
    // Clipping on, below both nets' norms: each net is clipped by its own gradient's norm.
    const rocket = rocketTrainer(booster, light, { lr: 0.01, lambda: 0.5, clipNorm: 0.05 });
    const batch = randomTrainBatch(booster.config, 32, 7);
    const r = await rocket.step(batch);
    const p = await plain.trainer({ lr: 0.01, clipNorm: 0.05 }).step(batch);
    expect(p.gradNorm).toBeGreaterThan(0.05);
    expect(r.gradNorm).toBeGreaterThan(p.gradNorm);
    expect(r.booster.bceLoss).toBe(p.bceLoss);
    expect(r.booster.auxLoss).toBe(p.auxLoss);
    expect(r.hintLoss).toBeGreaterThan(0);
    expect(r.loss).toBeCloseTo(r.booster.bceLoss + r.booster.auxLoss + r.light.bceLoss + r.light.auxLoss + 0.5 * r.hintLoss, 9);
    const [tb, tp] = [await tensors(booster), await tensors(plain)];
    let compared = 0;
    for (const [name, t] of tb) {
      if (EMBEDDINGS.includes(name)) expect(t.data, name).not.toEqual(tp.get(name)!.data); // the light net's gradient too
      else {
        expect(t.data, name).toEqual(tp.get(name)!.data);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
    booster.dispose();
    light.dispose();
  });

  it("keeps one embedding layer: the light net's tables are the booster's from the first step on", async () => {
    const [booster, light] = await pair();
    const before = await tensors(light);
    const rocket = rocketTrainer(booster, light);
    expect(await tensors(light)).toEqual(before); // creation changes nothing
    for (let i = 0; i < 4; i++) await rocket.step(randomTrainBatch(booster.config, 16, 20 + i));
    const [lb, bb] = [await tensors(light), await tensors(booster)];
    for (const name of EMBEDDINGS) expect(lb.get(name)!.data).toEqual(bb.get(name)!.data);
    expect(rocket.steps).toBe(4);
    booster.dispose();
    light.dispose();
  });

  it('embeddings "booster": the light net reads the shared rows but never writes them; the booster steps as if alone', async () => {
    const [booster, light] = await pair();
    using plain = await DienModel.create({ ...BASE, hidden: 24 }, { seed: 1 });
    const rocket = rocketTrainer(booster, light, { lr: 0.01, lambda: 0.5, embeddings: "booster" });
    expect(rocket.embeddings).toBe("booster");
    const lightBefore = await tensors(light);
    const plainTrainer = plain.trainer({ lr: 0.01 });
    for (let i = 0; i < 3; i++) {
      const batch = randomTrainBatch(booster.config, 32, 40 + i);
      const r = await rocket.step(batch);
      const p = await plainTrainer.step(batch);
      expect(r.booster.bceLoss).toBe(p.bceLoss);
      expect(r.hintLoss).toBeGreaterThan(0);
    }
    // Every booster tensor, the shared embeddings included, as three plain steps left it.
    const [tb, tp, tl] = [await tensors(booster), await tensors(plain), await tensors(light)];
    for (const [name, t] of tb) expect(Array.from(t.data), name).toEqual(Array.from(tp.get(name)!.data));
    // The light net holds the booster's tables and has trained its own layers.
    for (const name of EMBEDDINGS) expect(tl.get(name)!.data).toEqual(tb.get(name)!.data);
    const own = [...tl.keys()].filter((n) => !EMBEDDINGS.includes(n) && n.endsWith(".weight"));
    expect(own.length).toBeGreaterThan(10);
    expect(own.filter((n) => tl.get(n)!.data.some((x, i) => x !== lightBefore.get(n)!.data[i])).length).toBeGreaterThan(10);
    // "joint" (the default) lets the light net's gradient into the same rows.
    const [b2, l2] = await pair();
    const joint = rocketTrainer(b2, l2, { lr: 0.01, lambda: 0.5 });
    expect(joint.embeddings).toBe("joint");
    using plain2 = await DienModel.create({ ...BASE, hidden: 24 }, { seed: 1 });
    const batch = randomTrainBatch(b2.config, 32, 40);
    await joint.step(batch);
    await plain2.trainer({ lr: 0.01 }).step(batch);
    const [jb, jp] = [await tensors(b2), await tensors(plain2)];
    expect(jb.get("embedding.item.weight")!.data).not.toEqual(jp.get("embedding.item.weight")!.data);
    expect(() => rocketTrainer(b2, l2, { embeddings: "light" as never })).toThrow(/options.embeddings: expected one of/);
    for (const m of [booster, light, b2, l2]) m.dispose();
  });

  it("pulls the light net towards the booster: with lambda the hint loss ends lower than without", async () => {
    // A booster trained ahead has logits far from the fresh light net's; Adam's normalised
    // steps make the pull gradual, so the test compares the last steps' hint losses.
    const lastHints = async (lambda: number) => {
      const [booster, light] = await pair();
      const batches = [0, 1, 2, 3].map((i) => randomTrainBatch(booster.config, 64, 3 + i));
      const ahead = booster.trainer({ lr: 0.01 });
      for (let i = 0; i < 40; i++) await ahead.step(batches[i % 4]!);
      const rocket = rocketTrainer(booster, light, { lr: 0.005, lambda });
      let sum = 0;
      for (let i = 0; i < 40; i++) {
        const h = (await rocket.step(batches[i % 4]!)).hintLoss;
        if (i >= 36) sum += h;
      }
      booster.dispose();
      light.dispose();
      return sum / 4;
    };
    const [without, withHint] = [await lastHints(0), await lastHints(1)];
    expect(without).toBeGreaterThan(0); // reported at lambda 0 too
    expect(withHint).toBeLessThan(0.85 * without);
  });

  it("trains a different zoo model as the light net when the embeddings match", async () => {
    const [booster, light] = await pair({ model: "dien-augru", auxAlpha: 1 });
    const rocket = rocketTrainer(booster, light);
    const r = await rocket.step(randomTrainBatch(booster.config, 16, 1));
    expect(Number.isFinite(r.loss)).toBe(true);
    const [din, other] = [await DienModel.create({ ...BASE, model: "din" }), await DienModel.create({ ...BASE, model: "base" })];
    const r2 = await rocketTrainer(din, other).step(randomTrainBatch(din.config, 16, 1));
    expect(r2.light.auxLoss).toBe(0);
    for (const m of [booster, light, din, other]) m.dispose();
  });

  it("refuses what it cannot train, naming the field", async () => {
    const [booster, light] = await pair();
    expect(() => rocketTrainer(booster, booster)).toThrow(/light: the light net must be a different model/);
    expect(() => rocketTrainer(booster, {} as DienModel)).toThrow(TypeError);
    expect(() => rocketTrainer(booster, light, { lambda: -1 })).toThrow(/options.lambda: expected a finite number >= 0 but got -1/);
    expect(() => rocketTrainer(booster, light, { lambda: "0.1" as unknown as number })).toThrow(TypeError);
    expect(() => rocketTrainer(booster, light, { lr: 0 })).toThrow(/options.lr/);
    expect(() => rocketTrainer(booster, light, { gamma: 1 } as never)).toThrow(/gamma/);
    using wide = await DienModel.create({ ...BASE, dItem: 12, hidden: 8 });
    expect(() => rocketTrainer(booster, wide)).toThrow(/light.dItem: 12 differs from the booster's 8/);
    using noAux = await DienModel.create({ ...BASE, model: "dien-augru", hidden: 8 });
    expect(() => rocketTrainer(booster, noAux)).toThrow(/aux negatives/);
    using longer = await DienModel.create({ ...BASE, maxLen: 20, hidden: 8 });
    expect(() => rocketTrainer(booster, longer)).toThrow(/light.maxLen: 20 differs/);
    const rocket = rocketTrainer(booster, light);
    const bad = randomTrainBatch(booster.config, 4, 1);
    bad.label[2] = 0.5;
    await expect(rocket.step(bad)).rejects.toThrow(/label\[2\]: expected 0 or 1 but got 0.5/);
    expect(rocket.steps).toBe(0);
    light.dispose();
    await expect(rocket.step(randomTrainBatch(booster.config, 4, 1))).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
    booster.dispose();
  });

  it("refuses a quantised model", async () => {
    const [booster, light] = await pair();
    const file = path.join(dir, "q.safetensors");
    await light.save(file, { dtype: "int8" });
    using q = await DienModel.load(file);
    expect(() => rocketTrainer(booster, q)).toThrow(/quantised/);
    booster.dispose();
    light.dispose();
  });

  it("keeps call order on both models and copies the batch when step() is called", async () => {
    const run = async (lightFirst: boolean, mutate: boolean) => {
      const [booster, light] = await pair();
      // Either model may come first in the global queue order.
      if (lightFirst) await light.predict(randomTrainBatch(light.config, 1, 1));
      const rocket: RocketTrainer = rocketTrainer(booster, light, { lr: 0.01 });
      const [b1, b2] = [randomTrainBatch(booster.config, 16, 5), randomTrainBatch(booster.config, 16, 6)];
      const { label: _l, negItem: _n, negCat: _c, ...inputs } = b1;
      const steps = [rocket.step(b1), rocket.step(b2)];
      if (mutate) b2.label.fill(1); // after step(): must not reach the engine
      const [onLight, onBooster] = [light.predict(inputs), booster.predict(inputs)];
      const losses = await Promise.all(steps);
      const seen = [await onLight, await onBooster];
      expect(seen).toEqual([await light.predict(inputs), await booster.predict(inputs)]); // after both steps
      booster.dispose();
      light.dispose();
      return losses.map((r) => r.loss);
    };
    const reference = await run(false, false);
    expect(await run(true, false)).toEqual(reference);
    expect(await run(false, true)).toEqual(reference);
  });

  it("pairs Wide&Deep nets: their wide tables stay their own", async () => {
    const wide = { ...BASE, model: "wide-deep", auxAlpha: 0 } as const;
    using booster = await DienModel.create({ ...wide, mlpHidden: [32, 16] }, { seed: 1 });
    using light = await DienModel.create({ ...wide, mlpHidden: [8] }, { seed: 2 });
    const rocket = rocketTrainer(booster, light, { lr: 0.01 });
    for (let i = 0; i < 3; i++) await rocket.step(randomTrainBatch(booster.config, 16, 30 + i));
    const [tb, tl] = [await tensors(booster), await tensors(light)];
    for (const name of EMBEDDINGS) expect(tl.get(name)!.data).toEqual(tb.get(name)!.data);
    expect(tl.get("wide.item.weight")!.data).not.toEqual(tb.get("wide.item.weight")!.data);
  });

  it("an aborted step runs nowhere and frees both queues", async () => {
    const [booster, light] = await pair();
    const rocket = rocketTrainer(booster, light);
    const batch = randomTrainBatch(booster.config, 16, 2);
    const ac = new AbortController();
    const first = rocket.step(batch);
    const aborted = expect(rocket.step(batch, { signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
    ac.abort();
    await first;
    await aborted;
    await rocket.step(batch);
    expect(rocket.steps).toBe(2);
    const { label: _l, negItem: _n, negCat: _c, ...inputs } = batch;
    await Promise.all([booster.predict(inputs), light.predict(inputs)]);
    booster.dispose();
    light.dispose();
  });
});

describe("early stopping", () => {
  const samples = driftingInterests({ users: 300, maxLen: 12, seed: 3 });
  const builder = new VocabularyBuilder();
  for (const x of samples) builder.add(x);
  const vocab = builder.build();
  const source = memorySource(encodeSamples(samples, vocab, 12, true));

  it("holds out a seeded random fraction of the users, with all their samples: disjoint, covering", () => {
    const a = holdOut(source, 0.2, 5);
    const b = holdOut(source, 0.2, 5);
    const c = holdOut(source, 0.2, 6);
    expect(a.train.n + a.validation.n).toBe(source.n);
    const usersOf = (s: typeof source) => new Set(s.batch(Array.from({ length: s.n }, (_, i) => i)).user);
    const held = usersOf(a.validation);
    expect(held.size).toBe(Math.round(usersOf(source).size * 0.2));
    for (const u of usersOf(a.train)) expect(held.has(u)).toBe(false);
    const all = (s: typeof source) => Array.from(s.batch(Array.from({ length: s.n }, (_, i) => i)).targetItem);
    expect(all(a.validation)).toEqual(all(b.validation));
    expect(all(a.validation)).not.toEqual(all(c.validation));
    // Every sample lands in exactly one part: compare whole rows (item, history) as keys.
    const rows = (s: typeof source) => {
      const t = s.batch(Array.from({ length: s.n }, (_, i) => i));
      return Array.from({ length: s.n }, (_, i) => `${t.user![i]}|${t.targetItem[i]}|${t.label[i]}|${Array.from(t.histItem.subarray(i * 12, (i + 1) * 12)).join(",")}`);
    };
    expect([...rows(a.train), ...rows(a.validation)].sort()).toEqual(rows(source).sort());
    expect(holdOut(source, 0, 1).validation.n).toBe(0);
    // Without users, samples are held out.
    const anonymous = memorySource(encodeSamples(samples, vocab, 12, false));
    const d = holdOut(anonymous, 0.2, 5);
    expect(d.validation.n).toBe(Math.round(anonymous.n * 0.2));
    expect(d.train.n + d.validation.n).toBe(anonymous.n);
  });

  it("keeps each net's best epoch by validation AUC and returns those weights", async () => {
    const test = driftingInterests({ users: 100, maxLen: 12, seed: 4 });
    const o = { model: "dien", boosterHidden: 12, lightHidden: 4, lambda: 0.03, epochs: 4, batch: 32, lr: 0.01, seed: 2, threads: 1, maxLen: 12, baseline: true, validation: 0.25, patience: 1 } as const;
    const r = await rocketLaunch({ vocab, train: samples, test: () => test }, o);
    try {
      const best = r.best!;
      const trained = r.epochsTrained;
      for (const [b, epochs] of [[best.booster, trained.rocket], [best.light, trained.rocket], [best.alone!, trained.alone!]] as const) {
        expect(b.epoch).toBeGreaterThanOrEqual(1);
        expect(b.epoch).toBeLessThanOrEqual(epochs);
      }
      // Patience 1: training stopped one epoch after the light net's best, unless it improved to the end.
      expect(trained.rocket).toBe(Math.min(best.light.epoch + 1, 4));
      // (On the development machine the joint run stops after epoch 2 and the booster and
      // light net are restored from epoch 1; another CPU's rounding may pick other epochs.)
      // The same hold-out (same seed): each returned net scores exactly its best epoch's AUC.
      const { validation } = holdOut(source, 0.25, 2);
      expect(await sourceAuc(r.booster, validation)).toBeCloseTo(best.booster.validationAuc, 6);
      expect(await sourceAuc(r.light, validation)).toBeCloseTo(best.light.validationAuc, 6);
      expect(await sourceAuc(r.alone!, validation)).toBeCloseTo(best.alone!.validationAuc, 6);
      expect(r.metrics.light.n).toBe(test.length);
    } finally {
      for (const m of [r.booster, r.light, r.alone!]) m.dispose();
    }
  }, 120_000);

  it("rejects a hold-out that cannot rank epochs (one label, or no sample)", async () => {
    const o = { model: "dien", boosterHidden: 8, lightHidden: 4, lambda: 0.03, epochs: 2, batch: 32, lr: 0.01, seed: 2, threads: 1, maxLen: 12, baseline: false, validation: 0.001, patience: 1 } as const;
    await expect(rocketLaunch({ vocab, train: samples, test: () => [] }, o)).rejects.toThrow(/^validation: the \d training samples held out \(0\.001 of \d+\) need a click and a non-click/);
  });
});

describe("dien compress", () => {
  it("trains both nets on a click log and writes weight files DienModel.load serves", () => {
    // A tiny log in the original DIEN format (docs/model.md §13).
    const line = (u: number, i: number, y: number) => {
      const hist = Array.from({ length: 6 }, (_, k) => `m${(u * 7 + i + k) % 40}`);
      const cats = hist.map((h) => `c${Number(h.slice(1)) % 5}`);
      return [y, `u${u}`, `m${i % 40}`, `c${i % 5}`, hist.join("\x02"), cats.join("\x02")].join("\t");
    };
    const rows = (n: number, seed: number) => Array.from({ length: n }, (_, k) => line((k + seed) % 30, k * 3 + seed, k % 2)).join("\n") + "\n";
    writeFileSync(path.join(dir, "train.txt"), rows(400, 1));
    writeFileSync(path.join(dir, "test.txt"), rows(100, 2));
    const out = path.join(dir, "light.safetensors");
    const cli = path.join(__dirname, "..", "dist", "lib", "cli", "dien.js");
    const r = spawnSync(process.execPath, [cli, "compress", "--train", path.join(dir, "train.txt"), "--test", path.join(dir, "test.txt"), "--booster-hidden", "16", "--light-hidden", "6", "--epochs", "1", "--batch", "32", "--max-len", "8", "--baseline", "--out", out, "--json"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(report.booster.hidden).toBe(16);
    expect(report.light.hidden).toBe(6);
    expect(report.light.file).toBe(out);
    expect(report.booster.file).toBe(path.join(dir, "light.booster.safetensors"));
    expect(report.lightAlone.test.n).toBe(100);
    // No hold-out unless asked for: every epoch trains and no best epoch is reported.
    expect(report.light.best).toBeUndefined();
    expect(report.embeddings).toBe("joint");
    expect([report.lr, report.lrDecay, report.finalLr]).toEqual([1e-3, 1, 1e-3]);
    expect(r.stderr).toContain("embeddings trained by both nets");
    const early = spawnSync(process.execPath, [cli, "compress", "--train", path.join(dir, "train.txt"), "--test", path.join(dir, "test.txt"), "--booster-hidden", "16", "--light-hidden", "6", "--epochs", "3", "--batch", "32", "--max-len", "8", "--validation", "0.3", "--patience", "1", "--embeddings", "booster", "--lr", "0.004", "--lr-decay", "0.5", "--out", out, "--json"], { encoding: "utf8" });
    expect(early.status, early.stderr).toBe(0);
    const kept = JSON.parse(early.stdout.trim().split("\n").pop()!);
    for (const net of [kept.booster, kept.light]) {
      expect(net.best.epoch).toBeGreaterThanOrEqual(1);
      expect(net.best.epoch).toBeLessThanOrEqual(3);
      expect(net.best.validationAuc).toBeGreaterThan(0);
    }
    expect(early.stderr).toMatch(/trained [123] of at most 3 epoch\(s\) \(early stopping on 0\.3 of the training users\)/);
    expect(kept.embeddings).toBe("booster");
    // The rate halves after every epoch trained.
    const epochs = Number(/trained (\d) of at most/.exec(early.stderr)![1]);
    expect(kept.finalLr).toBeCloseTo(0.004 * 0.5 ** epochs, 12);
    expect(early.stderr).toContain("Adam 0.004 x 0.5 per epoch");
    expect(early.stderr).toContain("embeddings trained by the booster alone");
    const bad = spawnSync(process.execPath, [cli, "compress", "--train", path.join(dir, "train.txt"), "--test", path.join(dir, "test.txt"), "--validation", "1"], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("expected a number in [0, 1)");
    const badDecay = spawnSync(process.execPath, [cli, "compress", "--train", path.join(dir, "train.txt"), "--lr-decay", "0"], { encoding: "utf8" });
    expect(badDecay.status).not.toBe(0);
    expect(badDecay.stderr).toContain("--lr-decay <x>' argument '0' is invalid. expected a number in (0, 1]");
    expect(statSync(out).size).toBe(report.light.bytes);
    const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(__dirname, "..", "dist", "lib"))}).DienModel.load(${JSON.stringify(out)}).then((m) => console.log(m.config.hidden, m.vocab.items.size))`], { encoding: "utf8" });
    expect(check.stdout.trim(), check.stderr).toMatch(/^6 \d+$/);
  });
});
