#include "typed_arrays.h"

#include <cstring>

#include "../common/errors.h"

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

struct ArrayMemory {
  const void* data = nullptr;
  size_t length = 0;  // elements
};

// Checks the kind of v and its buffer, then returns where its elements are. The
// `resizable` look-up may run JS (a getter), so it happens first: nothing runs between
// the last napi_get_typedarray_info and the caller's copy.
ArrayMemory arrayMemory(const Napi::Value& v, napi_typedarray_type want, const char* wantName,
                        const std::string& field) {
  napi_env env = v.Env();
  napi_typedarray_type type = napi_int8_array;
  napi_value buffer = nullptr;
  bool isTyped = false, plain = false;
  if (napi_is_typedarray(env, v, &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, v, &type, nullptr, nullptr, &buffer, nullptr) != napi_ok || type != want)
    throw TypeMismatch(cat(field, ": expected ", wantName, " but got ", describeJsValue(v)));
  if (napi_is_arraybuffer(env, buffer, &plain) != napi_ok || !plain)
    throw TypeMismatch(cat(field,
                           ": arrays over a SharedArrayBuffer are not accepted (another thread could change "
                           "them while they are read); copy into a plain ",
                           wantName));
  napi_value resizable = nullptr;
  bool isResizable = false;
  if (napi_get_named_property(env, buffer, "resizable", &resizable) != napi_ok)
    throw Napi::Error::New(env);  // the getter threw: pass its exception on
  if (napi_get_value_bool(env, resizable, &isResizable) == napi_ok && isResizable)
    throw TypeMismatch(
        cat(field, ": arrays over a resizable ArrayBuffer are not accepted; copy into a plain ", wantName));
  ArrayMemory m;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, v, nullptr, &m.length, &data, nullptr, nullptr) != napi_ok)
    throw TypeMismatch(cat(field, ": could not read the array"));
  m.data = data;
  return m;
}

// The first `count` elements into `into`, reusing its capacity (data may be null when count is 0).
template <typename T>
void copyInto(const ArrayMemory& m, size_t count, std::vector<T>& into) {
  const T* first = static_cast<const T*>(m.data);
  if (count > 0)
    into.assign(first, first + count);
  else
    into.clear();
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

void copyInt32Array(const Napi::Value& v, const std::string& field, std::vector<int32_t>& into) {
  const ArrayMemory m = arrayMemory(v, napi_int32_array, "an Int32Array", field);
  copyInto(m, m.length, into);
}

std::vector<int32_t> copyInt32Array(const Napi::Value& v, const std::string& field) {
  std::vector<int32_t> out;
  copyInt32Array(v, field, out);
  return out;
}

std::vector<float> copyFloat32Array(const Napi::Value& v, const std::string& field) {
  const ArrayMemory m = arrayMemory(v, napi_float32_array, "a Float32Array", field);
  std::vector<float> out;
  copyInto(m, m.length, out);
  return out;
}

std::vector<uint8_t> copyUint8Array(const Napi::Value& v, const std::string& field) {
  const ArrayMemory m = arrayMemory(v, napi_uint8_array, "a Uint8Array or Buffer", field);
  std::vector<uint8_t> out;
  copyInto(m, m.length, out);
  return out;
}

std::optional<std::string> optionalVocab(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return std::nullopt;
  if (!info[i].IsString()) throw TypeMismatch(cat("vocab: expected a string but got ", describeJsValue(info[i])));
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace dien
