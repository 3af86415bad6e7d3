// Checked access to typed-array arguments: the wrong kind of array is a TypeError
// that names the field and what arrived instead.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace dien {

struct Int32View {
  const int32_t* data = nullptr;
  size_t length = 0;
};

std::string describeJsValue(const Napi::Value& v);
Int32View int32Array(const Napi::Value& v, const std::string& field);
Napi::Float32Array float32Array(const Napi::Value& v, const std::string& field);

}  // namespace dien
