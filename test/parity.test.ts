// Every variant and zoo model against the independent PyTorch reference, float64
// expectations computed from the same float32 weights (python/make_fixtures.py).
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel } from "../lib";
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
});
