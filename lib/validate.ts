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

/** Shared and resizable buffers can change size or contents under a call: refused. */
function expectPlainBuffer(field: string, value: ArrayBufferView, kind: string): void {
  if (typeof SharedArrayBuffer !== "undefined" && value.buffer instanceof SharedArrayBuffer)
    throw new TypeError(`${field}: arrays over a SharedArrayBuffer are not accepted (another thread could change them while they are read); copy into a plain ${kind}`);
  if ((value.buffer as ArrayBuffer & { resizable?: boolean }).resizable === true)
    throw new TypeError(`${field}: arrays over a resizable ArrayBuffer are not accepted; copy into a plain ${kind}`);
}

export function expectInt32Array(field: string, value: unknown): Int32Array {
  if (!(value instanceof Int32Array)) throw invalidType(field, "an Int32Array", value);
  expectPlainBuffer(field, value, "Int32Array");
  return value;
}

export function expectFloat32Array(field: string, value: unknown): Float32Array {
  if (!(value instanceof Float32Array)) throw invalidType(field, "a Float32Array", value);
  expectPlainBuffer(field, value, "Float32Array");
  return value;
}

/** out must not share memory with any input: results would overwrite what is still read. */
export function expectNoOverlap(field: string, out: ArrayBufferView, inputs: Record<string, ArrayBufferView | undefined>): void {
  for (const [name, input] of Object.entries(inputs)) {
    if (!input || input.buffer !== out.buffer) continue;
    const a0 = out.byteOffset, a1 = a0 + out.byteLength;
    const b0 = input.byteOffset, b1 = b0 + input.byteLength;
    if (a0 < b1 && b0 < a1 && out.byteLength > 0 && input.byteLength > 0)
      throw new RangeError(`${field}: overlaps the memory of ${name} (bytes ${Math.max(a0, b0)}..${Math.min(a1, b1)} of the same ArrayBuffer); pass a separate array`);
  }
}

export function expectAbortSignal(field: string, value: unknown): AbortSignal {
  if (!(value instanceof AbortSignal)) throw invalidType(field, "an AbortSignal", value);
  return value;
}

/** The `{ signal }` options of an async call: the signal, or undefined; any other key refused. */
export function signalOption(opts: unknown): AbortSignal | undefined {
  const o = opts === undefined ? {} : expectOptions("options", opts, ["signal"]);
  return o.signal === undefined ? undefined : expectAbortSignal("options.signal", o.signal);
}

/**
 * An options object with only the keys a function knows: a typo such as `logit` for
 * `logits` is a TypeError, not an option silently ignored. Undefined values count as absent.
 */
export function expectOptions(field: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  const o = expectObject(field, value);
  for (const key of Object.keys(o)) {
    if (known.includes(key) || o[key] === undefined) continue;
    const near = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase().slice(0, 3)));
    throw new TypeError(
      `${field}: unknown option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ""}; expected ${known.map((k) => JSON.stringify(k)).join(", ")}`,
    );
  }
  return o;
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
