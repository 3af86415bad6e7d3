/**
 * Samples encoded for training: vocabularies built from the training samples (frequency
 * order, docs/model.md §13), histories right-padded to maxLen keeping the most recent
 * behaviours, the §8 negative sampler, and seeded per-epoch shuffling into TrainBatches.
 */
import { rng } from "../synthetic";
import type { TrainBatch } from "../types";
import type { Sample } from "./formats";
import { type Vocabularies, Vocabulary } from "./vocab";

/** Vocabularies from training samples: every item and category seen, users when present. */
export function buildVocabularies(samples: Iterable<Sample>): Vocabularies {
  const items = new Map<string, number>();
  const cats = new Map<string, number>();
  const users = new Map<string, number>();
  const add = (m: Map<string, number>, t: string) => m.set(t, (m.get(t) ?? 0) + 1);
  for (const s of samples) {
    add(items, s.item);
    add(cats, s.cat);
    if (s.user) add(users, s.user);
    for (const t of s.histItems) add(items, t);
    for (const t of s.histCats) add(cats, t);
  }
  return { items: Vocabulary.fromCounts(items), cats: Vocabulary.fromCounts(cats), ...(users.size ? { users: Vocabulary.fromCounts(users) } : {}) };
}

/** N samples as id arrays, histories [N, maxLen] right-padded with the most recent behaviours. */
export interface EncodedSet {
  n: number;
  maxLen: number;
  targetItem: Int32Array;
  targetCat: Int32Array;
  user?: Int32Array;
  histLen: Int32Array;
  histItem: Int32Array;
  histCat: Int32Array;
  label: Float32Array;
}

export function encodeSamples(samples: readonly Sample[], v: Vocabularies, maxLen: number, withUser: boolean): EncodedSet {
  const n = samples.length;
  const e: EncodedSet = {
    n, maxLen,
    targetItem: new Int32Array(n), targetCat: new Int32Array(n), histLen: new Int32Array(n),
    histItem: new Int32Array(n * maxLen), histCat: new Int32Array(n * maxLen), label: new Float32Array(n),
    ...(withUser ? { user: new Int32Array(n) } : {}),
  };
  for (let i = 0; i < n; i++) {
    const s = samples[i]!;
    e.targetItem[i] = v.items.id(s.item);
    e.targetCat[i] = v.cats.id(s.cat);
    if (e.user) e.user[i] = v.users ? v.users.id(s.user) : 0;
    e.label[i] = s.label;
    const L = Math.min(s.histItems.length, maxLen);
    const from = s.histItems.length - L;
    e.histLen[i] = L;
    for (let t = 0; t < L; t++) {
      e.histItem[i * maxLen + t] = v.items.id(s.histItems[from + t]!);
      e.histCat[i * maxLen + t] = v.cats.id(s.histCats[from + t]!);
    }
  }
  return e;
}

/**
 * docs/model.md §8 negatives: a behaviour event drawn uniformly from the training set's
 * events (so items in proportion to their popularity), redrawn when it is the positive item.
 */
export class NegativeSampler {
  readonly #items: Int32Array;
  readonly #cats: Int32Array;
  readonly #next: () => number;

  constructor(set: EncodedSet, seed: number) {
    let count = 0;
    for (let i = 0; i < set.n; i++) count += set.histLen[i]!;
    this.#items = new Int32Array(count);
    this.#cats = new Int32Array(count);
    let k = 0;
    for (let i = 0; i < set.n; i++)
      for (let t = 0; t < set.histLen[i]!; t++, k++) {
        this.#items[k] = set.histItem[i * set.maxLen + t]!;
        this.#cats[k] = set.histCat[i * set.maxLen + t]!;
      }
    this.#next = rng(seed);
  }

  /** Fills negItem / negCat for positions 1 .. L-1 of every sample (others stay 0, never read). */
  fill(b: TrainBatch, maxLen: number): void {
    const n = b.targetItem.length;
    const negItem = new Int32Array(n * maxLen);
    const negCat = new Int32Array(n * maxLen);
    const events = this.#items.length;
    for (let i = 0; i < n && events > 0; i++)
      for (let t = 1; t < b.histLen[i]!; t++) {
        const positive = b.histItem[i * maxLen + t]!;
        let k = Math.floor(this.#next() * events);
        for (let tries = 0; this.#items[k] === positive && tries < 16; tries++) k = Math.floor(this.#next() * events);
        negItem[i * maxLen + t] = this.#items[k]!;
        negCat[i * maxLen + t] = this.#cats[k]!;
      }
    b.negItem = negItem;
    b.negCat = negCat;
  }
}

/** The batches of one epoch, shuffled by a seeded permutation (no shuffle: file order). */
export function* epochBatches(set: EncodedSet, batch: number, opts: { shuffleSeed?: number; sampler?: NegativeSampler } = {}): Generator<TrainBatch> {
  const order = new Int32Array(set.n).map((_, i) => i);
  if (opts.shuffleSeed !== undefined) {
    const r = rng(opts.shuffleSeed);
    for (let i = set.n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  const T = set.maxLen;
  for (let start = 0; start < set.n; start += batch) {
    const m = Math.min(batch, set.n - start);
    const b: TrainBatch = {
      targetItem: new Int32Array(m), targetCat: new Int32Array(m), histLen: new Int32Array(m),
      histItem: new Int32Array(m * T), histCat: new Int32Array(m * T), label: new Float32Array(m),
      ...(set.user ? { user: new Int32Array(m) } : {}),
    };
    for (let j = 0; j < m; j++) {
      const i = order[start + j]!;
      b.targetItem[j] = set.targetItem[i]!;
      b.targetCat[j] = set.targetCat[i]!;
      b.histLen[j] = set.histLen[i]!;
      b.label[j] = set.label[i]!;
      if (set.user) b.user![j] = set.user[i]!;
      b.histItem.set(set.histItem.subarray(i * T, (i + 1) * T), j * T);
      b.histCat.set(set.histCat.subarray(i * T, (i + 1) * T), j * T);
    }
    opts.sampler?.fill(b, T);
    yield b;
  }
}
