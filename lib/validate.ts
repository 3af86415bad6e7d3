/**
 * The one place that checks what callers pass in. Messages name the field, the
 * sample index and the bad value, e.g. "histItem[3, 7]: id 120 is outside [0, 100)".
 * The native layer checks everything again; this layer exists for clear errors and
 * for catching mistakes before any work is queued.
 */

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return "Array";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return `${typeof value} ${String(value)}`;
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return typeof value;
}

export function invalidType(field: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`${field}: expected ${expected} but got ${describe(actual)}`);
}

export function expectInt32Array(field: string, value: unknown): Int32Array {
  if (!(value instanceof Int32Array)) throw invalidType(field, "an Int32Array", value);
  // Ids are checked once and read later on worker threads; shared memory could change in between.
  if (typeof SharedArrayBuffer !== "undefined" && value.buffer instanceof SharedArrayBuffer)
    throw new TypeError(`${field}: arrays over a SharedArrayBuffer are not accepted (another thread could change them after validation); copy into a plain Int32Array`);
  return value;
}

export function expectFloat32Array(field: string, value: unknown): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidType(field, "a Float32Array", value);
  return value;
}

export function expectObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || ArrayBuffer.isView(value))
    throw invalidType(field, "an object", value);
  return value as Record<string, unknown>;
}

export function expectBoolean(field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw invalidType(field, "a boolean", value);
  return value;
}

export function expectString(field: string, value: unknown): string {
  if (typeof value !== "string") throw invalidType(field, "a string", value);
  return value;
}

export function expectInteger(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number") throw invalidType(field, "an integer", value);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${field}: expected an integer in [${min}, ${max}] but got ${value}`);
  return value;
}

export function expectLength(field: string, array: ArrayLike<unknown>, length: number, what: string): void {
  if (array.length !== length)
    throw new RangeError(`${field}: expected ${length} elements (${what}) but got ${array.length}`);
}

/** Every id in [0, vocab); rows > 0 reports positions as [sample, step]. */
export function checkIds(field: string, ids: Int32Array, vocab: number, rowLength = 0): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < 0 || id >= vocab) {
      const at = rowLength > 0 ? `${Math.floor(i / rowLength)}, ${i % rowLength}` : `${i}`;
      throw new RangeError(`${field}[${at}]: id ${id} is outside [0, ${vocab})`);
    }
  }
}

export function checkLengths(field: string, lengths: Int32Array, max: number): void {
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i]!;
    if (len < 0 || len > max) throw new RangeError(`${field}[${i}]: length ${len} is outside [0, ${max}]`);
  }
}

export function expectOneOf<T extends string>(field: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value))
    throw new RangeError(`${field}: expected one of ${choices.map((c) => JSON.stringify(c)).join(", ")} but got ${describe(value)}`);
  return value as T;
}
