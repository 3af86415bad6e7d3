// AUC, GAUC and log-loss against scikit-learn (python/make_metric_fixtures.py).
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { auc, gauc, logloss } from "../lib";
import { FIXTURES } from "./helpers";

interface MetricCase {
  scores: number[];
  labels: number[];
  users: number[];
  auc: number;
  gauc: number;
  gaucUsers: number;
  logloss: number;
}

const cases = JSON.parse(readFileSync(path.join(FIXTURES, "metrics", "cases.json"), "utf8")) as MetricCase[];

describe("metrics agree with scikit-learn", () => {
  cases.forEach((c, k) => {
    it(`case ${k}: ${c.scores.length} scores, ${new Set(c.scores).size} distinct`, () => {
      expect(auc(c.scores, c.labels)).toBeCloseTo(c.auc, 12);
      const g = gauc(c.scores, c.labels, c.users);
      expect(g.gauc).toBeCloseTo(c.gauc, 12);
      expect(g.users).toBe(c.gaucUsers);
      expect(logloss(c.scores, c.labels)).toBeCloseTo(c.logloss, 10);
    });
  });

  it("ties count one half; one class gives NaN; bad input names the index", () => {
    expect(auc([0.5, 0.5], [0, 1])).toBe(0.5);
    expect(auc([0.1, 0.9, 0.9], [0, 1, 0])).toBe(0.75);
    expect(auc([0.3, 0.4], [1, 1])).toBeNaN();
    expect(() => auc([0.1, NaN], [0, 1])).toThrow("scores[1]: expected a finite number but got NaN");
    expect(() => auc([0.1, 0.2], [0, 2])).toThrow("labels[1]: expected 0 or 1 but got 2");
    expect(() => logloss([0.1, 1.5], [0, 1])).toThrow("probabilities[1]");
    expect(() => gauc([0.1], [0], [1, 2])).toThrow("users: expected 1 elements");
  });
});
