// Turning C++ failures into JS errors of the right class, with a code where the
// failure is about the environment or a file rather than the caller's arguments.
#pragma once

#include <napi.h>

#include <exception>
#include <string>

namespace dien {

enum class ErrorKind { Range, Type, Weights, Config, Memory, Cuda, Internal };

struct CaughtError {
  ErrorKind kind = ErrorKind::Internal;
  std::string message;
};

// Classifies the exception being handled; call only inside a catch block.
CaughtError classifyCurrentException();

Napi::Error makeJsError(Napi::Env env, const CaughtError& e);

}  // namespace dien
