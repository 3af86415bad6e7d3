#include "typed_arrays.h"

namespace dien {

namespace {
const char* typedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "typed array";
  }
}
}  // namespace

std::string describeJsValue(const Napi::Value& v) {
  if (v.IsTypedArray()) return typedArrayName(v.As<Napi::TypedArray>().TypedArrayType());
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsArray()) return "Array";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsBoolean()) return "boolean";
  return "object";
}

namespace {
// Ids are validated once and read later on worker threads: memory another JS thread
// can write meanwhile (a SharedArrayBuffer) could turn a checked id into an
// out-of-bounds read, so such arrays are refused.
void refuseShared(const Napi::TypedArray& a, const std::string& field) {
  napi_value buffer = nullptr;
  bool plain = false;
  if (napi_get_typedarray_info(a.Env(), a, nullptr, nullptr, nullptr, &buffer, nullptr) != napi_ok ||
      napi_is_arraybuffer(a.Env(), buffer, &plain) != napi_ok || !plain)
    throw Napi::TypeError::New(a.Env(), field + ": arrays over a SharedArrayBuffer are not accepted (another thread "
                                                "could change them after validation); copy into a plain Int32Array");
}
}  // namespace

Int32View int32Array(const Napi::Value& v, const std::string& field) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(v.Env(), field + ": expected an Int32Array but got " + describeJsValue(v));
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  refuseShared(a, field);
  return {a.Data(), a.ElementLength()};
}

Napi::Float32Array float32Array(const Napi::Value& v, const std::string& field) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), field + ": expected a Float32Array but got " + describeJsValue(v));
  return v.As<Napi::Float32Array>();
}

}  // namespace dien
