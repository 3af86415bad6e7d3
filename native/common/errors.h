// Error kinds that cross the N-API boundary. The binding maps them to JS:
// InputError -> RangeError, TypeMismatch -> TypeError, FormatError -> Error with
// code DIEN_BAD_WEIGHTS, ConfigError -> Error with code DIEN_BAD_CONFIG, CudaError ->
// DIEN_CUDA (DIEN_OOM when out of device memory), anything else -> DIEN_INTERNAL.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dien {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeMismatch : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A failed CUDA call: the message names the call and CUDA's own message.
struct CudaError : std::runtime_error {
  CudaError(const std::string& what, bool outOfMemory) : std::runtime_error(what), oom(outOfMemory) {}
  bool oom;
};

// cat("a", 1, "b") -> "a1b": message building without iostream noise at call sites.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace dien
