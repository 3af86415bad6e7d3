// Reading typed-array arguments on the JS thread: the wrong kind of array is a
// TypeError naming the field and what arrived instead; arrays over shared or resizable
// memory are refused; and what is accepted is copied at once, with no JS running
// between the look-up of the array's memory and the copy.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dien {

std::string describeJsValue(const Napi::Value& v);

// A copy of the Int32Array v (TypeError if v is anything else), into `into` (whose
// capacity is reused) or a new vector.
void copyInt32Array(const Napi::Value& v, const std::string& field, std::vector<int32_t>& into);
std::vector<int32_t> copyInt32Array(const Napi::Value& v, const std::string& field);
// A copy of the Float32Array v.
std::vector<float> copyFloat32Array(const Napi::Value& v, const std::string& field);
// A copy of the Uint8Array (or Buffer) v.
std::vector<uint8_t> copyUint8Array(const Napi::Value& v, const std::string& field);
// Argument i of a save as the text __metadata__.vocab should hold: absent or undefined
// gives nullopt (the engine's own), a string its copy, anything else a TypeError.
std::optional<std::string> optionalVocab(const Napi::CallbackInfo& info, size_t i);

}  // namespace dien
