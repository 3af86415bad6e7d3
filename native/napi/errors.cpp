#include "errors.h"

#include <new>

#include "../common/errors.h"

namespace dien {

CaughtError classifyCurrentException() {
  try {
    throw;
  } catch (const InputError& e) {
    return {CaughtError::Kind::Range, ErrorCode::Internal, e.what()};
  } catch (const TypeMismatch& e) {
    return {CaughtError::Kind::Type, ErrorCode::Internal, e.what()};
  } catch (const CodedError& e) {
    return {CaughtError::Kind::Coded, e.code, e.what()};
  } catch (const std::bad_alloc&) {
    return {CaughtError::Kind::Coded, ErrorCode::OutOfMemory, "out of memory"};
  } catch (const std::exception& e) {
    return {CaughtError::Kind::Coded, ErrorCode::Internal, e.what()};
  } catch (...) {
    return {CaughtError::Kind::Coded, ErrorCode::Internal, "unknown native exception"};
  }
}

Napi::Error makeJsError(Napi::Env env, const CaughtError& e) {
  switch (e.kind) {
    case CaughtError::Kind::Range: return Napi::RangeError::New(env, e.message);
    case CaughtError::Kind::Type: return Napi::TypeError::New(env, e.message);
    case CaughtError::Kind::Coded: break;
  }
  Napi::Error err = Napi::Error::New(env, e.message);
  err.Set("code", Napi::String::New(env, errorCodeName(e.code)));
  return err;
}

}  // namespace dien
