// Exceptions that cross the N-API boundary. Caller mistakes are InputError (a JS
// RangeError) and TypeMismatch (a TypeError); everything else is a CodedError carrying
// one of the codes of error_codes.h, which the binding turns into a DienError.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

#include "error_codes.h"

namespace dien {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeMismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CodedError : std::runtime_error {
  CodedError(ErrorCode c, const std::string& what) : std::runtime_error(what), code(c) {}
  ErrorCode code;
};
// A bad weight file (DIEN_BAD_WEIGHTS).
struct FormatError : CodedError {
  explicit FormatError(const std::string& what) : CodedError(ErrorCode::BadWeights, what) {}
};
// A bad config, device choice or environment setting (DIEN_BAD_CONFIG).
struct ConfigError : CodedError {
  explicit ConfigError(const std::string& what) : CodedError(ErrorCode::BadConfig, what) {}
};
// A failed CUDA call, naming the call and CUDA's message (DIEN_CUDA, or DIEN_OOM).
struct CudaError : CodedError {
  CudaError(const std::string& what, bool outOfMemory)
      : CodedError(outOfMemory ? ErrorCode::OutOfMemory : ErrorCode::Cuda, what) {}
};
// A result that is not finite (DIEN_NON_FINITE).
struct NonFiniteError : CodedError {
  explicit NonFiniteError(const std::string& what) : CodedError(ErrorCode::NonFinite, what) {}
};

// Malformed JSON text. Json::parse throws it; callers say whose text it was (a weight
// file's header is a FormatError, a config a ConfigError).
struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// cat("a", 1, "b") -> "a1b": message building without iostream noise at call sites.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace dien
