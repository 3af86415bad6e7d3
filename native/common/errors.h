// Error kinds that cross the N-API boundary. The binding maps them to JS:
// InputError -> RangeError, TypeMismatch -> TypeError, FormatError -> Error with
// code DIEN_BAD_WEIGHTS, ConfigError -> Error with code DIEN_BAD_CONFIG,
// anything else -> Error with code DIEN_INTERNAL.
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

// cat("a", 1, "b") -> "a1b": message building without iostream noise at call sites.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

}  // namespace dien
