/**
 * String-id vocabularies (docs/model.md §13): built from a training file in frequency order
 * (ties by first appearance), id 0 reserved for padding and unknown ids. Saved inside the
 * weight file (docs/model.md §12, `__metadata__.vocab`), so a served model maps the same
 * strings to the same rows.
 */
export class Vocabulary {
  readonly #ids = new Map<string, number>();
  readonly #tokens: string[] = [""];

  /** tokens[0] must be "" (the padding / unknown slot). */
  constructor(tokens: readonly string[] = [""]) {
    if (tokens[0] !== "") throw new RangeError(`tokens[0]: id 0 is reserved for padding and unknown ids, so it must be "" but got ${JSON.stringify(tokens[0])}`);
    for (let i = 1; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (typeof t !== "string") throw new TypeError(`tokens[${i}]: expected a string`);
      if (this.#ids.has(t) || t === "") throw new RangeError(`tokens[${i}]: ${JSON.stringify(t)} appears twice`);
      this.#ids.set(t, i);
      this.#tokens.push(t);
    }
  }

  /** Counts -> vocabulary: most frequent first, ties in first-seen order (Map order). */
  static fromCounts(counts: Map<string, number>, minCount = 1): Vocabulary {
    const entries = [...counts.entries()].filter(([t, n]) => t !== "" && n >= minCount);
    entries.sort((a, b) => b[1] - a[1]); // stable: ties keep first-seen order
    return new Vocabulary(["", ...entries.map(([t]) => t)]);
  }

  /** Number of ids, padding included (the model's vocabulary size). */
  get size(): number {
    return this.#tokens.length;
  }

  id(token: string): number {
    return this.#ids.get(token) ?? 0;
  }

  token(id: number): string | undefined {
    return id > 0 ? this.#tokens[id] : undefined;
  }

  /** Unknown strings map to 0. */
  encode(tokens: readonly string[]): Int32Array {
    if (!Array.isArray(tokens)) throw new TypeError("tokens: expected an array of strings");
    const out = new Int32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (typeof t !== "string") throw new TypeError(`tokens[${i}]: expected a string but got ${typeof t}`);
      out[i] = this.#ids.get(t) ?? 0;
    }
    return out;
  }

  toJSON(): string[] {
    return [...this.#tokens];
  }
}

/** The vocabularies of one model: items, categories and (with a user field) users. */
export interface Vocabularies {
  items: Vocabulary;
  cats: Vocabulary;
  users?: Vocabulary;
}

export function vocabulariesToJson(v: Vocabularies): string {
  return JSON.stringify({ items: v.items.toJSON(), cats: v.cats.toJSON(), ...(v.users ? { users: v.users.toJSON() } : {}) });
}

export function vocabulariesFromJson(text: string): Vocabularies {
  return vocabulariesFromValue(JSON.parse(text));
}

/** Vocabularies from their parsed JSON ({ items, cats, users? }: arrays of strings). */
export function vocabulariesFromValue(value: unknown): Vocabularies {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new TypeError("vocab: expected an object { items, cats, users? }");
  const raw = value as { items?: unknown; cats?: unknown; users?: unknown };
  const list = (field: string, v: unknown): Vocabulary => {
    if (!Array.isArray(v)) throw new TypeError(`vocab.${field}: expected an array of strings`);
    return new Vocabulary(v as string[]);
  };
  return { items: list("items", raw.items), cats: list("cats", raw.cats), ...(raw.users === undefined ? {} : { users: list("users", raw.users) }) };
}
