#include "quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "../common/errors.h"

namespace dien {

StorageType storageTypeFromName(const std::string& name) {
  if (name == "F32" || name == "float32") return StorageType::F32;
  if (name == "F16" || name == "fp16") return StorageType::F16;
  if (name == "I8" || name == "int8") return StorageType::I8;
  throw InputError(cat("dtype: expected \"float32\", \"fp16\" or \"int8\" but got \"", name, "\""));
}

const char* quantizationName(StorageType t) {
  switch (t) {
    case StorageType::F16: return "fp16";
    case StorageType::I8: return "int8";
    default: return "";
  }
}

bool quantizable(const TensorSpec& s) { return s.shape.size() == 2 && isTrainableTensor(s.kind); }

namespace {
uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

uint16_t floatToHalf(float f) {
  const uint32_t x = bitsOf(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) return static_cast<uint16_t>(sign | (absx > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (absx >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // 2^16 and up: inf
  if (absx < 0x38800000u) {                                               // below 2^-14: subnormal or zero
    // Scale into the subnormal range with a float addition that rounds to nearest even.
    const float v = fromBits(absx) + 0.5f;
    return static_cast<uint16_t>(sign | (bitsOf(v) - 0x3f000000u));
  }
  const uint32_t mantOdd = (absx >> 13) & 1u;
  const uint32_t rounded = absx + 0xc8000fffu + mantOdd;  // rebias exponent (-112 << 23) and round
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

uint16_t floatToBf16(float f) {
  const uint32_t x = bitsOf(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN stays NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void quantizeRowsI8(const float* x, int64_t rows, int64_t cols, int8_t* q, uint16_t* scales) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    float mx = 0.0f;
    for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, std::fabs(row[c]));
    // Rounded up so that no value needs more than 127 steps.
    uint16_t s = floatToBf16(mx / 127.0f);
    if (bf16ToFloat(s) * 127.0f < mx) ++s;
    scales[r] = s;
    const float scale = bf16ToFloat(s);
    for (int64_t c = 0; c < cols; ++c) {
      const float v = scale > 0 ? std::nearbyint(row[c] / scale) : 0.0f;
      q[r * cols + c] = static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, v)));
    }
  }
}

}  // namespace dien
