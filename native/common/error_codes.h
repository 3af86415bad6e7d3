// The error codes that cross the N-API boundary: the one list the binding, the
// TypeScript DienError classes (lib/errors.ts) and the README are checked against
// (test/errors.test.ts walks it through the addon's `errorCodes` export).
//   X(enumerator, code, meaning)
#pragma once

#define DIEN_ERROR_CODES(X)                                                                          \
  X(BadWeights, "DIEN_BAD_WEIGHTS", "a weight file is corrupt, truncated or contradicts its config") \
  X(BadConfig, "DIEN_BAD_CONFIG", "a model config, device or environment setting is invalid")        \
  X(Io, "DIEN_IO", "a file could not be read")                                                       \
  X(OutOfMemory, "DIEN_OOM", "host or device memory ran out")                                        \
  X(Cuda, "DIEN_CUDA", "a CUDA call failed")                                                         \
  X(NonFinite, "DIEN_NON_FINITE", "the forward pass produced a value that is not finite")            \
  X(Disposed, "DIEN_DISPOSED", "the model was used after dispose()")                                 \
  X(UnsupportedCpu, "DIEN_UNSUPPORTED_CPU", "the addon was built for instructions this CPU lacks")   \
  X(Internal, "DIEN_INTERNAL", "a bug in the engine")

namespace dien {

enum class ErrorCode {
#define DIEN_ENUMERATOR(e, code, meaning) e,
  DIEN_ERROR_CODES(DIEN_ENUMERATOR)
#undef DIEN_ENUMERATOR
};

inline const char* errorCodeName(ErrorCode c) {
  switch (c) {
#define DIEN_CASE(e, code, meaning) \
  case ErrorCode::e: return code;
    DIEN_ERROR_CODES(DIEN_CASE)
#undef DIEN_CASE
  }
  return "DIEN_INTERNAL";
}

}  // namespace dien
