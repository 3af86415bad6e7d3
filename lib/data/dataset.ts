/**
 * Samples encoded for training: vocabularies built from the training samples (frequency
 * order, docs/model.md §13), histories right-padded to maxLen keeping the most recent
 * behaviours, the §8 negative sampler, and seeded per-epoch shuffling into TrainBatches.
 */
import { rng } from "../synthetic";
import { type BatchSource, memorySource } from "./store";
import type { TrainBatch } from "../types";
import type { Sample } from "./formats";
import { type Vocabularies, Vocabulary, encodeHistory } from "./vocab";

/** Counts string ids sample by sample (a stream of any length), then builds vocabularies. */
export class VocabularyBuilder {
  readonly #items = new Map<string, number>();
  readonly #cats = new Map<string, number>();
  readonly #users = new Map<string, number>();

  add(s: Sample): void {
    const add = (m: Map<string, number>, t: string) => m.set(t, (m.get(t) ?? 0) + 1);
    add(this.#items, s.item);
    add(this.#cats, s.cat);
    if (s.user) add(this.#users, s.user);
    for (const t of s.histItems) add(this.#items, t);
    for (const t of s.histCats) add(this.#cats, t);
  }

  /** Every item and category seen; users when the samples had any. */
  build(): Vocabularies {
    return {
      items: Vocabulary.fromCounts(this.#items),
      cats: Vocabulary.fromCounts(this.#cats),
      ...(this.#users.size ? { users: Vocabulary.fromCounts(this.#users) } : {}),
    };
  }
}

/** Vocabularies from training samples: every item and category seen, users when present. */
export function buildVocabularies(samples: Iterable<Sample>): Vocabularies {
  const b = new VocabularyBuilder();
  for (const s of samples) b.add(s);
  return b.build();
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
    const h = encodeHistory(s, i, v, maxLen);
    e.targetItem[i] = v.items.id(s.item);
    e.targetCat[i] = v.cats.id(s.cat);
    if (e.user) e.user[i] = v.users ? v.users.id(s.user) : 0;
    e.label[i] = s.label;
    e.histLen[i] = h.items.length;
    e.histItem.set(h.items, i * maxLen);
    e.histCat.set(h.cats, i * maxLen);
  }
  return e;
}

/**
 * docs/model.md §8 negatives: a behaviour event drawn uniformly from the training set's
 * events (so items in proportion to their popularity; a uniform sample of
 * them beyond 2^24, lib/data/store.ts), redrawn when it is the positive item.
 */
export class NegativeSampler {
  readonly #items: Int32Array;
  readonly #cats: Int32Array;
  readonly #next: () => number;

  constructor(source: BatchSource | EncodedSet, seed: number) {
    const events = ("batch" in source ? source : memorySource(source)).events;
    this.#items = events.items;
    this.#cats = events.cats;
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
export function* epochBatches(source: BatchSource | EncodedSet, batch: number, opts: { shuffleSeed?: number; sampler?: NegativeSampler } = {}): Generator<TrainBatch> {
  const src = "batch" in source ? source : memorySource(source);
  const order = new Int32Array(src.n).map((_, i) => i);
  if (opts.shuffleSeed !== undefined) {
    const r = rng(opts.shuffleSeed);
    for (let i = src.n - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
  for (let start = 0; start < src.n; start += batch) {
    const b = src.batch(order.subarray(start, Math.min(start + batch, src.n)));
    opts.sampler?.fill(b, src.maxLen);
    yield b;
  }
}
