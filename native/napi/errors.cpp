#include "errors.h"

#include <new>

#include "../common/errors.h"

namespace dien {

CaughtError classifyCurrentException() {
  try {
    throw;
  } catch (const InputError& e) {
    return {ErrorKind::Range, e.what()};
  } catch (const TypeMismatch& e) {
    return {ErrorKind::Type, e.what()};
  } catch (const FormatError& e) {
    return {ErrorKind::Weights, e.what()};
  } catch (const ConfigError& e) {
    return {ErrorKind::Config, e.what()};
  } catch (const CudaError& e) {
    return {e.oom ? ErrorKind::Memory : ErrorKind::Cuda, e.what()};
  } catch (const std::bad_alloc&) {
    return {ErrorKind::Memory, "out of memory"};
  } catch (const std::exception& e) {
    return {ErrorKind::Internal, e.what()};
  } catch (...) {
    return {ErrorKind::Internal, "unknown native exception"};
  }
}

Napi::Error makeJsError(Napi::Env env, const CaughtError& e) {
  switch (e.kind) {
    case ErrorKind::Range: return Napi::RangeError::New(env, e.message);
    case ErrorKind::Type: return Napi::TypeError::New(env, e.message);
    default: break;
  }
  Napi::Error err = Napi::Error::New(env, e.message);
  const char* code = e.kind == ErrorKind::Weights  ? "DIEN_BAD_WEIGHTS"
                     : e.kind == ErrorKind::Config ? "DIEN_BAD_CONFIG"
                     : e.kind == ErrorKind::Memory ? "DIEN_OOM"
                     : e.kind == ErrorKind::Cuda   ? "DIEN_CUDA"
                                                   : "DIEN_INTERNAL";
  err.Set("code", Napi::String::New(env, code));
  return err;
}

}  // namespace dien
