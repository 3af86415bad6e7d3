// Turning C++ failures into JS errors: caller mistakes become RangeError / TypeError,
// everything else an Error with one of the codes of common/error_codes.h, which the
// TypeScript layer turns into the matching DienError class.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

#include "../common/error_codes.h"

namespace dien {

struct CaughtError {
  enum class Kind { Range, Type, Coded } kind = Kind::Coded;
  ErrorCode code = ErrorCode::Internal;
  std::string message;
};

// Classifies the exception being handled; call only inside a catch block.
CaughtError classifyCurrentException();

Napi::Error makeJsError(Napi::Env env, const CaughtError& e);

// Runs the body of a JS-facing function: any C++ exception becomes a JS exception of
// the right class (node-addon-api lets only Napi::Error through; anything else would
// terminate the process).
template <typename F>
auto guarded(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw makeJsError(env, classifyCurrentException());
  }
}

}  // namespace dien
