// Every variant and zoo model against the independent PyTorch reference, float64
// expectations computed from the same float32 weights (python/make_fixtures.py).
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel, type ScoreRequest } from "../lib";
import { FIXTURES, fixtureBatch, fixtureNames, loadFixture, poisoned, relativeError } from "./helpers";

const names = fixtureNames();

describe("parity with the PyTorch reference", () => {
  it("has a fixture for every zoo model and evolution variant", () => {
    const fixtures = names.map(loadFixture);
    const models = new Set(fixtures.map((f) => f.config.model));
    for (const m of ["base", "wide-deep", "pnn", "din", "gru-att", "dien-aigru", "dien-agru", "dien-augru", "dien"]) expect(models).toContain(m);
    const gru = fixtures.filter((f) => !["base", "wide-deep", "pnn", "din"].includes(f.config.model));
    expect(new Set(gru.map((f) => f.config.evolution))).toEqual(new Set(["augru", "augru-orig", "agru", "aigru", "gru-att"]));
    expect(new Set(gru.map((f) => f.config.gruCell))).toEqual(new Set(["reset-after", "reset-before"]));
    expect(new Set(gru.map((f) => f.config.attention))).toEqual(new Set(["mlp", "bilinear"]));
    expect(new Set(fixtures.map((f) => f.config.hidden))).toEqual(new Set([32, 36, 108]));
    expect(new Set(fixtures.map((f) => f.config.activation))).toEqual(new Set(["dice", "prelu", "relu"]));
  });

  for (const name of names) {
    it(`${name}: probabilities and logits within 1e-5 of float64`, async () => {
      const fx = loadFixture(name);
      const batch = fixtureBatch(fx);
      const lengths = Array.from(batch.histLen);
      expect(lengths).toContain(0);
      expect(lengths).toContain(1);
      expect(lengths).toContain(fx.config.maxLen);
      using model = await DienModel.load(path.join(FIXTURES, `${name}.safetensors`), { device: "cpu" });
      expect(model.config).toEqual(fx.config);
      for (const kind of ["probabilities", "logits"] as const) {
        const out = poisoned(lengths.length);
        const got = await model.predict(batch, { logits: kind === "logits", out });
        expect(got).toBe(out);
        expect(out.every(Number.isFinite)).toBe(true);
        expect(relativeError(out, fx.expected[kind])).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  for (const name of names) {
    it(`${name}: scoreCandidates equals predict on the expanded batch`, async () => {
      const fx = loadFixture(name);
      const batch = fixtureBatch(fx);
      using model = await DienModel.load(path.join(FIXTURES, `${name}.safetensors`));
      const T = fx.config.maxLen;
      const B = batch.targetItem.length;
      for (const sample of [0, 1, 2, 5]) {
        const L = batch.histLen[sample]!;
        const histItem = batch.histItem.slice(sample * T, sample * T + L);
        const histCat = batch.histCat.slice(sample * T, sample * T + L);
        const user = batch.user?.[sample];
        const expanded = {
          targetItem: batch.targetItem,
          targetCat: batch.targetCat,
          histItem: new Int32Array(B * T),
          histCat: new Int32Array(B * T),
          histLen: new Int32Array(B).fill(L),
          ...(batch.user ? { user: new Int32Array(B).fill(user!) } : {}),
        };
        for (let b = 0; b < B; b++) {
          expanded.histItem.set(histItem, b * T);
          expanded.histCat.set(histCat, b * T);
        }
        const expected = await model.predict(expanded, { logits: true });
        const out = poisoned(B);
        await model.scoreCandidates(
          { histItem, histCat, ...(user === undefined ? {} : { user }) },
          { items: batch.targetItem, cats: batch.targetCat },
          { logits: true, out },
        );
        expect(relativeError(out, expected)).toBeLessThanOrEqual(1e-6);
      }
    });
  }

  for (const name of names) {
    it(`${name}: scoreRequests equals predict on the expanded batch (ragged K, lengths 0, 1, T)`, async () => {
      const fx = loadFixture(name);
      const batch = fixtureBatch(fx);
      using model = await DienModel.load(path.join(FIXTURES, `${name}.safetensors`));
      const T = fx.config.maxLen;
      const B = batch.targetItem.length;
      // Request r: sample r's history against a ragged run of the batch's targets.
      const sizes = [1, 3, 0, B, 2, 1, 7];
      const requests: ScoreRequest[] = [];
      const expanded = { targetItem: [] as number[], targetCat: [] as number[], histItem: [] as number[], histCat: [] as number[], histLen: [] as number[], user: [] as number[] };
      for (let r = 0; r < B; r++) {
        const L = batch.histLen[r]!;
        const K = sizes[r % sizes.length]!;
        const pick = Array.from({ length: K }, (_, k) => (r * 5 + k * 3) % B);
        const history = { histItem: batch.histItem.slice(r * T, r * T + L), histCat: batch.histCat.slice(r * T, r * T + L), ...(batch.user ? { user: batch.user[r]! } : {}) };
        requests.push({ history, candidates: { items: Int32Array.from(pick, (i) => batch.targetItem[i]!), cats: Int32Array.from(pick, (i) => batch.targetCat[i]!) } });
        for (const i of pick) {
          expanded.targetItem.push(batch.targetItem[i]!);
          expanded.targetCat.push(batch.targetCat[i]!);
          expanded.histItem.push(...batch.histItem.subarray(r * T, (r + 1) * T));
          expanded.histCat.push(...batch.histCat.subarray(r * T, (r + 1) * T));
          expanded.histLen.push(L);
          if (batch.user) expanded.user.push(batch.user[r]!);
        }
      }
      const expected = await model.predict(
        {
          targetItem: Int32Array.from(expanded.targetItem),
          targetCat: Int32Array.from(expanded.targetCat),
          histItem: Int32Array.from(expanded.histItem),
          histCat: Int32Array.from(expanded.histCat),
          histLen: Int32Array.from(expanded.histLen),
          ...(batch.user ? { user: Int32Array.from(expanded.user) } : {}),
        },
        { logits: true },
      );
      const got = await model.scoreRequests(requests, { logits: true });
      expect(got.map((g) => g.length)).toEqual(requests.map((r) => r.candidates.items.length));
      const flat = new Float32Array(expected.length);
      let at = 0;
      for (const g of got) {
        flat.set(g, at);
        at += g.length;
      }
      expect(relativeError(flat, expected)).toBeLessThanOrEqual(1e-6);
      // Each request alone gives the same numbers as in the merged call.
      for (const r of [0, 1, 2, 3]) expect((await model.scoreRequests([requests[r]!], { logits: true }))[0]).toEqual(got[r]);
    });
  }
});
