/**
 * Where training batches come from: encoded samples in memory (EncodedSet) or in a binary
 * file of fixed-size records (SampleStore), so that a training file larger than memory
 * trains with one batch in memory at a time. Records are little-endian int32:
 *   targetItem, targetCat, user, label, histLen, histItem[maxLen], histCat[maxLen]
 * and a shuffled epoch reads them by position.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";

import { rng } from "../synthetic";
import type { TrainBatch } from "../types";
import type { EncodedSet } from "./dataset";
import type { Sample } from "./formats";
import { type Vocabularies, encodeHistory } from "./vocab";

export interface BatchSource {
  readonly n: number;
  readonly maxLen: number;
  readonly withUser: boolean;
  /** The samples at these positions, in this order, with labels (no negatives). */
  batch(indices: ArrayLike<number>): TrainBatch;
  /** Behaviour events (item, cat) for the negative sampler: all of them or a uniform sample. */
  readonly events: { items: Int32Array; cats: Int32Array };
}

function emptyBatch(m: number, T: number, withUser: boolean): TrainBatch {
  return {
    targetItem: new Int32Array(m), targetCat: new Int32Array(m), histLen: new Int32Array(m),
    histItem: new Int32Array(m * T), histCat: new Int32Array(m * T), label: new Float32Array(m),
    ...(withUser ? { user: new Int32Array(m) } : {}),
  };
}

/**
 * Keeps a uniform sample of at most `cap` events (reservoir sampling, seeded). Its arrays
 * grow as events arrive, so small data costs little and the cap bounds large data.
 */
class EventReservoir {
  #items = new Int32Array(1024);
  #cats = new Int32Array(1024);
  #seen = 0;
  readonly #next = rng(0x5eed);
  constructor(readonly cap: number) {}
  add(item: number, cat: number): void {
    const k = this.#seen < this.cap ? this.#seen : Math.floor(this.#next() * (this.#seen + 1));
    this.#seen++;
    if (k >= this.cap) return;
    if (k === this.#items.length) {
      const size = Math.min(this.cap, 2 * k);
      const items = new Int32Array(size);
      const cats = new Int32Array(size);
      items.set(this.#items);
      cats.set(this.#cats);
      this.#items = items;
      this.#cats = cats;
    }
    this.#items[k] = item;
    this.#cats[k] = cat;
  }
  result(): { items: Int32Array; cats: Int32Array } {
    const n = Math.min(this.#seen, this.cap);
    return { items: this.#items.slice(0, n), cats: this.#cats.slice(0, n) };
  }
}

/** Events kept for negatives (at most 128 MiB): all of them for data of up to 16M history rows. */
export const EVENT_CAP = 1 << 24;

export function memorySource(set: EncodedSet): BatchSource {
  const T = set.maxLen;
  let events: { items: Int32Array; cats: Int32Array } | undefined;
  return {
    n: set.n,
    maxLen: T,
    withUser: set.user !== undefined,
    // Only the negative sampler reads the events: gathered on first use.
    get events() {
      if (!events) {
        const reservoir = new EventReservoir(EVENT_CAP);
        for (let i = 0; i < set.n; i++) for (let t = 0; t < set.histLen[i]!; t++) reservoir.add(set.histItem[i * T + t]!, set.histCat[i * T + t]!);
        events = reservoir.result();
      }
      return events;
    },
    batch(indices) {
      const b = emptyBatch(indices.length, T, set.user !== undefined);
      for (let j = 0; j < indices.length; j++) {
        const i = indices[j]!;
        b.targetItem[j] = set.targetItem[i]!;
        b.targetCat[j] = set.targetCat[i]!;
        b.histLen[j] = set.histLen[i]!;
        b.label[j] = set.label[i]!;
        if (set.user) b.user![j] = set.user[i]!;
        b.histItem.set(set.histItem.subarray(i * T, (i + 1) * T), j * T);
        b.histCat.set(set.histCat.subarray(i * T, (i + 1) * T), j * T);
      }
      return b;
    },
  };
}

/** src's samples in order, `chunk` at a time: each chunk's first position and its batch. */
export function* inOrder(src: BatchSource, chunk = 4096): Generator<{ start: number; batch: TrainBatch }> {
  for (let start = 0; start < src.n; start += chunk) yield { start, batch: src.batch(Array.from({ length: Math.min(chunk, src.n - start) }, (_, i) => start + i)) };
}

/** The samples of src at these positions, as a source of its own (nothing is copied). */
function subset(src: BatchSource, positions: Int32Array): BatchSource {
  return {
    n: positions.length,
    maxLen: src.maxLen,
    withUser: src.withUser,
    get events() {
      return src.events;
    },
    batch(indices) {
      const mapped = new Int32Array(indices.length);
      for (let j = 0; j < indices.length; j++) mapped[j] = positions[indices[j]!]!;
      return src.batch(mapped);
    },
  };
}

/**
 * A seeded random `fraction` held out for validation (early stopping); the rest trains.
 * With users, whole users are held out (a seeded `fraction` of them, all their samples),
 * as test sets of new users are: samples of users the model trained on would rank epochs
 * by how well it remembers them. Without users, samples are. Both parts read src's
 * samples in place, each in src's order; the negatives' events stay those of all of src.
 */
export function holdOut(src: BatchSource, fraction: number, seed: number): { train: BatchSource; validation: BatchSource } {
  const random = rng(seed);
  const held = new Uint8Array(src.n);
  if (src.withUser) {
    const users = new Int32Array(src.n);
    for (const { start, batch } of inOrder(src)) users.set(batch.user!, start);
    const distinct = Int32Array.from(new Set(users)).sort();
    const chosen = new Set(shuffled(distinct.length, random).subarray(0, Math.round(distinct.length * fraction)).map((i) => distinct[i]!));
    for (let i = 0; i < src.n; i++) held[i] = chosen.has(users[i]!) ? 1 : 0;
  } else {
    for (const i of shuffled(src.n, random).subarray(0, Math.round(src.n * fraction))) held[i] = 1;
  }
  const part = (h: number) => Int32Array.from({ length: src.n }, (_, i) => i).filter((i) => held[i] === h);
  return { train: subset(src, part(0)), validation: subset(src, part(1)) };
}

/** 0..n-1 in a seeded random order (Fisher-Yates). */
function shuffled(n: number, random: () => number): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

const HEADER = 5; // targetItem, targetCat, user, label, histLen

/** Encoded samples in a file; close() when done (the file is the caller's to delete). */
export class SampleStore implements BatchSource {
  readonly #fd: number;
  readonly #record: number; // int32 values per record
  readonly #buf: Int32Array;
  #events: { items: Int32Array; cats: Int32Array } = { items: new Int32Array(0), cats: new Int32Array(0) };
  n = 0;

  private constructor(readonly file: string, readonly maxLen: number, readonly withUser: boolean, fd: number) {
    this.#fd = fd;
    this.#record = HEADER + 2 * maxLen;
    this.#buf = new Int32Array(this.#record);
  }

  get events(): { items: Int32Array; cats: Int32Array } {
    return this.#events;
  }

  /** Encodes samples (streamed; histories keep the most recent maxLen) into `file`, one pass. */
  static async write(samples: AsyncIterable<Sample> | Iterable<Sample>, v: Vocabularies, maxLen: number, withUser: boolean, file: string): Promise<SampleStore> {
    const fd = openSync(file, "w+");
    const store = new SampleStore(file, maxLen, withUser, fd);
    const R = store.#record;
    const chunk = new Int32Array(R * 1024);
    const reservoir = new EventReservoir(EVENT_CAP);
    let inChunk = 0;
    let offset = 0;
    const flush = () => {
      const bytes = Buffer.from(chunk.buffer, 0, inChunk * R * 4);
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
      offset += bytes.length;
      inChunk = 0;
    };
    for await (const s of samples) {
      const h = encodeHistory(s, store.n, v, maxLen);
      const L = h.items.length;
      const r = chunk.subarray(inChunk * R, (inChunk + 1) * R);
      r.fill(0);
      r[0] = v.items.id(s.item);
      r[1] = v.cats.id(s.cat);
      r[2] = withUser && v.users ? v.users.id(s.user) : 0;
      r[3] = s.label;
      r[4] = L;
      r.set(h.items, HEADER);
      r.set(h.cats, HEADER + maxLen);
      for (let t = 0; t < L; t++) reservoir.add(r[HEADER + t]!, r[HEADER + maxLen + t]!);
      store.n++;
      if (++inChunk === 1024) flush();
    }
    flush();
    store.#events = reservoir.result();
    return store;
  }

  batch(indices: ArrayLike<number>): TrainBatch {
    const T = this.maxLen;
    const b = emptyBatch(indices.length, T, this.withUser);
    const bytes = new Uint8Array(this.#buf.buffer);
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      if (!(i >= 0 && i < this.n)) throw new RangeError(`indices[${j}]: ${i} is outside [0, ${this.n})`);
      const pos = i * this.#record * 4;
      for (let done = 0; done < bytes.length; ) {
        const got = readSync(this.#fd, bytes, done, bytes.length - done, pos + done);
        if (got === 0) throw new RangeError(`${this.file}: record ${i} is truncated`);
        done += got;
      }
      const r = this.#buf;
      b.targetItem[j] = r[0]!;
      b.targetCat[j] = r[1]!;
      if (b.user) b.user[j] = r[2]!;
      b.label[j] = r[3]!;
      b.histLen[j] = r[4]!;
      b.histItem.set(r.subarray(HEADER, HEADER + T), j * T);
      b.histCat.set(r.subarray(HEADER + T, HEADER + 2 * T), j * T);
    }
    return b;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
