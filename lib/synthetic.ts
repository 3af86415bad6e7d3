/**
 * Seeded synthetic inputs: the paper-default workload of docs/performance.md for
 * `npm start`, `npm run bench` and tests. Deterministic for a seed on every platform.
 */
import { type ConfigInput, type ModelConfig, hasGru } from "./config";
import type { Batch, ScoreRequest, TrainBatch } from "./types";
import { expectInteger, expectObject } from "./validate";

/** docs/performance.md "paper defaults": E = 36, H = 36, T = 100, mlp attention, augru, dice. */
export function paperDefaults(overrides: Partial<ModelConfig> = {}): ConfigInput {
  return { model: "dien", itemVocab: 100_000, catVocab: 1_000, userVocab: 100_000, dItem: 18, dCat: 18, dUser: 18, hidden: 36, maxLen: 100, ...overrides };
}

/** mulberry32: a small, fast, seeded generator. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** B samples with ids uniform over the vocabularies and lengths uniform in [minLen, maxLen]. */
export function randomBatch(config: Pick<ModelConfig, "itemVocab" | "catVocab" | "userVocab" | "maxLen">, batch: number, seed = 1, minLen = 1): Batch {
  const c = expectObject("config", config);
  const T = expectInteger("config.maxLen", c.maxLen, 1);
  expectInteger("config.itemVocab", c.itemVocab, 1);
  expectInteger("config.catVocab", c.catVocab, 1);
  expectInteger("config.userVocab", c.userVocab, 0);
  expectInteger("batch", batch, 0, 1 << 24);
  expectInteger("seed", seed, 0, 0xffffffff);
  expectInteger("minLen", minLen, 0, T);
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const b: Batch = {
    targetItem: new Int32Array(batch),
    targetCat: new Int32Array(batch),
    histItem: new Int32Array(batch * T),
    histCat: new Int32Array(batch * T),
    histLen: new Int32Array(batch),
  };
  for (let i = 0; i < batch; i++) {
    b.targetItem[i] = int(config.itemVocab);
    b.targetCat[i] = int(config.catVocab);
    b.histLen[i] = minLen + int(T - minLen + 1);
  }
  for (let k = 0; k < batch * T; k++) {
    b.histItem[k] = int(config.itemVocab);
    b.histCat[k] = int(config.catVocab);
  }
  if (config.userVocab > 0) {
    b.user = new Int32Array(batch);
    for (let i = 0; i < batch; i++) b.user[i] = int(config.userVocab);
  }
  return b;
}

/**
 * randomBatch plus random labels and, when the model's aux loss is on, uniform random
 * negatives (benchmarks and tests; real negatives come from the data pipeline's sampler).
 */
export function randomTrainBatch(config: ModelConfig, batch: number, seed = 1, minLen = 1): TrainBatch {
  const b = randomBatch(config, batch, seed, minLen) as TrainBatch;
  const r = rng(seed ^ 0x5bd1e995);
  const int = (n: number) => Math.floor(r() * n);
  b.label = new Float32Array(batch);
  for (let i = 0; i < batch; i++) b.label[i] = int(2);
  if (hasGru(config) && config.auxAlpha > 0) {
    const n = batch * config.maxLen;
    b.negItem = new Int32Array(n);
    b.negCat = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      b.negItem[k] = int(config.itemVocab);
      b.negCat[k] = int(config.catVocab);
    }
  }
  return b;
}

/**
 * n score requests (docs/model.md §15): history lengths uniform in [minLen, maxLen],
 * candidates per request uniform in [minCandidates, maxCandidates], ids uniform.
 */
export function randomRequests(
  config: Pick<ModelConfig, "itemVocab" | "catVocab" | "userVocab" | "maxLen">,
  n: number,
  seed = 1,
  opts: { minLen?: number; minCandidates?: number; maxCandidates?: number } = {},
): ScoreRequest[] {
  const T = expectInteger("config.maxLen", config.maxLen, 1);
  expectInteger("n", n, 0, 1 << 24);
  const minLen = expectInteger("opts.minLen", opts.minLen ?? 1, 0, T);
  const maxK = expectInteger("opts.maxCandidates", opts.maxCandidates ?? 100, 0, 1 << 20);
  const minK = expectInteger("opts.minCandidates", opts.minCandidates ?? maxK, 0, maxK);
  const r = rng(expectInteger("seed", seed, 0, 0xffffffff));
  const int = (k: number) => Math.floor(r() * k);
  const ids = (count: number, vocab: number) => Int32Array.from({ length: count }, () => int(vocab));
  const out: ScoreRequest[] = [];
  for (let i = 0; i < n; i++) {
    const L = minLen + int(T - minLen + 1);
    const K = minK + int(maxK - minK + 1);
    out.push({
      history: { histItem: ids(L, config.itemVocab), histCat: ids(L, config.catVocab), ...(config.userVocab > 0 ? { user: int(config.userVocab) } : {}) },
      candidates: { items: ids(K, config.itemVocab), cats: ids(K, config.catVocab) },
    });
  }
  return out;
}
