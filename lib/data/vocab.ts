import type { NativeVocab, VocabTable } from "../native";
import type { Sample } from "./formats";

/** What a Vocabulary looks tokens up in. */
interface TokenIndex {
  readonly size: number;
  id(token: string): number;
  token(id: number): string | undefined;
  encode(tokens: readonly string[]): Int32Array;
  tokens(): string[];
}

/** Vocabularies built in JS (from a training file, or given to create()): a Map. */
class MapIndex implements TokenIndex {
  readonly #ids = new Map<string, number>();
  readonly #tokens: string[] = [""];

  constructor(tokens: readonly string[]) {
    if (!Array.isArray(tokens)) throw new TypeError("tokens: expected an array of strings");
    if (tokens[0] !== "") throw new RangeError(`tokens[0]: id 0 is reserved for padding and unknown ids, so it must be "" but got ${JSON.stringify(tokens[0])}`);
    for (let i = 1; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (typeof t !== "string") throw new TypeError(`tokens[${i}]: expected a string`);
      if (this.#ids.has(t) || t === "") throw new RangeError(`tokens[${i}]: ${JSON.stringify(t)} appears twice`);
      this.#ids.set(t, i);
      this.#tokens.push(t);
    }
  }

  get size(): number {
    return this.#tokens.length;
  }
  id(token: string): number {
    return this.#ids.get(token) ?? 0;
  }
  token(id: number): string | undefined {
    return id > 0 && Number.isInteger(id) ? this.#tokens[id] : undefined;
  }
  encode(tokens: readonly string[]): Int32Array {
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t !== "string") throw new TypeError(`tokens[${i}]: expected a string but got ${typeof t}`);
      out[i] = this.#ids.get(t) ?? 0;
    }
    return out;
  }
  tokens(): string[] {
    return [...this.#tokens];
  }
}

/**
 * Vocabularies read from a weight file or a vocabulary file: one table of a native index
 * (native/data/vocab_index.h), parsed off the event loop and far smaller than a Map.
 */
class NativeIndex implements TokenIndex {
  readonly size: number;
  constructor(
    private readonly v: NativeVocab,
    private readonly table: VocabTable,
  ) {
    this.size = v.size(table);
  }
  id(token: string): number {
    return this.v.id(this.table, token);
  }
  token(id: number): string | undefined {
    return this.v.token(this.table, id);
  }
  encode(tokens: readonly string[]): Int32Array {
    return this.v.encode(this.table, tokens);
  }
  tokens(): string[] {
    return this.v.tokens(this.table);
  }
}

let adopt: (index: TokenIndex) => Vocabulary;

/**
 * String-id vocabularies (docs/model.md §13): built from a training file in frequency order
 * (ties by first appearance), id 0 reserved for padding and unknown ids. Saved with the
 * weight file (docs/model.md §12, `__metadata__.vocab`), so a served model maps the same
 * strings to the same rows. Tokens compare as JS strings (a Map's keys) do.
 */
export class Vocabulary {
  #index: TokenIndex;

  static {
    adopt = (index) => {
      const v = new Vocabulary();
      v.#index = index;
      return v;
    };
  }

  /** tokens[0] must be "" (the padding / unknown slot). */
  constructor(tokens: readonly string[] = [""]) {
    this.#index = new MapIndex(tokens);
  }

  /** Counts -> vocabulary: most frequent first, ties in first-seen order (Map order). */
  static fromCounts(counts: Map<string, number>, minCount = 1): Vocabulary {
    const entries = [...counts.entries()].filter(([t, n]) => t !== "" && n >= minCount);
    entries.sort((a, b) => b[1] - a[1]); // stable: ties keep first-seen order
    return new Vocabulary(["", ...entries.map(([t]) => t)]);
  }

  /** Number of ids, padding included (the model's vocabulary size). */
  get size(): number {
    return this.#index.size;
  }

  /** The id of token; 0 when it is unknown. */
  id(token: string): number {
    if (typeof token !== "string") throw new TypeError(`token: expected a string but got ${typeof token}`);
    return this.#index.id(token);
  }

  /** The token of id; undefined for 0 and for anything not an id of this vocabulary. */
  token(id: number): string | undefined {
    if (typeof id !== "number") throw new TypeError(`id: expected a number but got ${typeof id}`);
    return this.#index.token(id);
  }

  /** Unknown strings map to 0. */
  encode(tokens: readonly string[]): Int32Array {
    if (!Array.isArray(tokens)) throw new TypeError("tokens: expected an array of strings");
    // A plain copy, each element read once: a Proxy or an array with getters (which could
    // change it while it is read) is encoded as it was when read, the same by either index.
    return this.#index.encode(Array.prototype.slice.call(tokens) as string[]);
  }

  toJSON(): string[] {
    return this.#index.tokens();
  }
}

/** The vocabularies of one model: items, categories and (with a user field) users. */
export interface Vocabularies {
  items: Vocabulary;
  cats: Vocabulary;
  users?: Vocabulary;
}

/**
 * Sample i's last maxLen behaviours as item and category ids, one encode per field (a
 * loaded model's vocabularies are a native index: one call each, not one per id).
 */
export function encodeHistory(s: Sample, i: number, v: Vocabularies, maxLen: number): { items: Int32Array; cats: Int32Array } {
  if (s.histCats.length !== s.histItems.length) throw new RangeError(`samples[${i}].histCats: expected ${s.histItems.length} entries (one per history item) but got ${s.histCats.length}`);
  const from = Math.max(0, s.histItems.length - maxLen);
  const recent = (xs: readonly string[]) => (from === 0 ? xs : xs.slice(from));
  return { items: v.items.encode(recent(s.histItems)), cats: v.cats.encode(recent(s.histCats)) };
}

export function vocabulariesToJson(v: Vocabularies): string {
  const index = nativeSource(v);
  if (index) return index.json().toString("utf8");
  return JSON.stringify({ items: v.items.toJSON(), cats: v.cats.toJSON(), ...(v.users ? { users: v.users.toJSON() } : {}) });
}

/** The JSON text of vocabulariesToJson, as UTF-8 bytes. */
export function vocabulariesToBytes(v: Vocabularies): Buffer {
  return nativeSource(v)?.json() ?? Buffer.from(vocabulariesToJson(v), "utf8");
}

// Vocabularies made by nativeVocabularies, and what they were made of: their JSON text is
// written by the index itself, without a JS string per token.
const NATIVE_SOURCE = new WeakMap<Vocabularies, Vocabularies & { vocab: NativeVocab }>();

/** The index v was made over, unless a table has been swapped since. */
function nativeSource(v: Vocabularies): NativeVocab | undefined {
  const made = NATIVE_SOURCE.get(v);
  return made && made.items === v.items && made.cats === v.cats && made.users === v.users ? made.vocab : undefined;
}

/** The Vocabularies over a native index's tables (lib/vocab-file.ts and lib/model.ts make the index). */
export function nativeVocabularies(vocab: NativeVocab): Vocabularies {
  const v: Vocabularies = {
    items: adopt(new NativeIndex(vocab, 0)),
    cats: adopt(new NativeIndex(vocab, 1)),
    ...(vocab.has(2) ? { users: adopt(new NativeIndex(vocab, 2)) } : {}),
  };
  NATIVE_SOURCE.set(v, { ...v, vocab });
  return v;
}

export function vocabulariesFromJson(text: string): Vocabularies {
  return vocabulariesFromValue(JSON.parse(text));
}

/** Vocabularies from their parsed JSON ({ items, cats, users? }: arrays of strings). */
export function vocabulariesFromValue(value: unknown): Vocabularies {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError("vocab: expected an object { items, cats, users? }");
  for (const key of Object.keys(value)) if (!["items", "cats", "users"].includes(key)) throw new RangeError(`vocab: unknown key ${JSON.stringify(key)} (expected items, cats and users)`);
  const raw = value as { items?: unknown; cats?: unknown; users?: unknown };
  const list = (field: string, v: unknown): Vocabulary => {
    if (!Array.isArray(v)) throw new TypeError(`vocab.${field}: expected an array of strings`);
    return new Vocabulary(v as string[]);
  };
  return { items: list("items", raw.items), cats: list("cats", raw.cats), ...(raw.users === undefined ? {} : { users: list("users", raw.users) }) };
}
