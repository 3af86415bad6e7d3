// A minimal test harness shared by the native test files: TEST registers a case,
// CHECK / CHECK_MSG fail it, SKIP marks it skipped with a reason (no GPU, say).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"

namespace dien {
namespace test {

struct TestCase {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> r;
  return r;
}
struct Register {
  Register(const char* n, std::function<void()> f) { registry().push_back({n, std::move(f)}); }
};
#define TEST(name)                                      \
  void name();                                          \
  const ::dien::test::Register reg_##name(#name, name); \
  void name()

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#define CHECK(cond)                                                                                        \
  do {                                                                                                     \
    if (!(cond)) throw ::dien::test::Failure(cat(__FILE__, ":", __LINE__, ": CHECK(", #cond, ") failed")); \
  } while (0)
#define CHECK_MSG(cond, msg)                                                           \
  do {                                                                                 \
    if (!(cond)) throw ::dien::test::Failure(cat(__FILE__, ":", __LINE__, ": ", msg)); \
  } while (0)

// Expects fn to throw E whose message contains needle.
template <typename E>
void expectThrow(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
  } catch (const E& e) {
    if (std::string(e.what()).find(needle) == std::string::npos)
      throw Failure(cat("error \"", e.what(), "\" does not mention \"", needle, "\""));
    return;
  } catch (const std::exception& e) {
    throw Failure(cat("wrong exception type: \"", e.what(), "\" (wanted one mentioning \"", needle, "\")"));
  }
  throw Failure(cat("no exception; wanted one mentioning \"", needle, "\""));
}

struct Skipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};
#define SKIP(reason) throw ::dien::test::Skipped(reason)

}  // namespace test
}  // namespace dien
