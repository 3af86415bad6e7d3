/**
 * The error codes of failures that are not the caller's argument mistakes (those are
 * TypeError / RangeError), each with its DienError subclass. Codes raised by the native
 * addon come from one list in native/common/error_codes.h; test/errors.test.ts checks
 * that this table and the README agree with it.
 */

/** Every code a DienError can carry. */
export const DIEN_ERROR_CODES = [
  "DIEN_BAD_WEIGHTS",
  "DIEN_BAD_CONFIG",
  "DIEN_IO",
  "DIEN_OOM",
  "DIEN_CUDA",
  "DIEN_NON_FINITE",
  "DIEN_DISPOSED",
  "DIEN_UNSUPPORTED_CPU",
  "DIEN_INTERNAL",
  "DIEN_NATIVE_LOAD",
  "DIEN_BAD_DATA",
  "DIEN_OVERLOADED",
] as const;

export type DienErrorCode = (typeof DIEN_ERROR_CODES)[number];

export class DienError extends Error {
  readonly code: DienErrorCode;
  constructor(code: DienErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DienError";
    this.code = code;
  }
}

/** A weight file is corrupt, truncated or contradicts its config. */
export class BadWeightsError extends DienError {}
/** A model config, device choice or environment setting is invalid. */
export class BadConfigError extends DienError {}
/** A weight file could not be read. */
export class IoError extends DienError {}
/** Host or device memory ran out. */
export class OutOfMemoryError extends DienError {}
/** A CUDA call failed. */
export class CudaError extends DienError {}
/** The forward pass produced a logit that is not finite (weights that overflow float32). */
export class NonFiniteError extends DienError {}
/** The model was used after dispose(). */
export class DisposedError extends DienError {}
/** The native addon was built for instructions this CPU lacks. */
export class UnsupportedCpuError extends DienError {}
/** The native addon could not be loaded. */
export class NativeLoadError extends DienError {}
/** A bug in the engine. */
export class InternalError extends DienError {}
/** A line of a data file is malformed (the message names the file, the line and the field). */
export class BadDataError extends DienError {}
/** A scorer's queue is full: retry later (HTTP: 503 with Retry-After). */
export class OverloadedError extends DienError {}

type ErrorClass = new (code: DienErrorCode, message: string, options?: { cause?: unknown }) => DienError;

/** Every code, its class, and whether the native addon raises it. */
export const ERROR_CODES: Readonly<Record<DienErrorCode, { errorClass: ErrorClass; native: boolean }>> = {
  DIEN_BAD_WEIGHTS: { errorClass: BadWeightsError, native: true },
  DIEN_BAD_CONFIG: { errorClass: BadConfigError, native: true },
  DIEN_IO: { errorClass: IoError, native: true },
  DIEN_OOM: { errorClass: OutOfMemoryError, native: true },
  DIEN_CUDA: { errorClass: CudaError, native: true },
  DIEN_NON_FINITE: { errorClass: NonFiniteError, native: true },
  DIEN_DISPOSED: { errorClass: DisposedError, native: true },
  DIEN_UNSUPPORTED_CPU: { errorClass: UnsupportedCpuError, native: true },
  DIEN_INTERNAL: { errorClass: InternalError, native: true },
  DIEN_NATIVE_LOAD: { errorClass: NativeLoadError, native: false },
  DIEN_BAD_DATA: { errorClass: BadDataError, native: false },
  DIEN_OVERLOADED: { errorClass: OverloadedError, native: false },
};

export function isDienErrorCode(code: unknown): code is DienErrorCode {
  return typeof code === "string" && (DIEN_ERROR_CODES as readonly string[]).includes(code);
}

/** A DienError of the class its code names. */
export function dienError(code: DienErrorCode, message: string, cause?: unknown): DienError {
  const e = new ERROR_CODES[code].errorClass(code, message, cause === undefined ? undefined : { cause });
  e.name = ERROR_CODES[code].errorClass.name;
  return e;
}

/** A native Error carrying a code becomes the DienError of that code; anything else is returned as it is. */
export function fromNative(err: unknown): unknown {
  if (err instanceof DienError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  return isDienErrorCode(code) ? dienError(code, err.message, err) : err;
}
