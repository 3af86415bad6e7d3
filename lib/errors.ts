/** Error codes for failures that are not the caller's argument mistakes. */
export type DienErrorCode =
  | "DIEN_BAD_WEIGHTS"
  | "DIEN_BAD_CONFIG"
  | "DIEN_OOM"
  | "DIEN_DISPOSED"
  | "DIEN_NATIVE_LOAD"
  | "DIEN_INTERNAL";

export class DienError extends Error {
  readonly code: DienErrorCode;
  constructor(code: DienErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DienError";
    this.code = code;
  }
}
