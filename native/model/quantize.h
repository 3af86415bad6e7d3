// Quantised storage of a weight file (docs/model.md §12, "Quantised files"): the 2-D
// trainable tensors (embedding and wide tables, dense weight matrices) stored as F16, or
// as I8 with one BF16 scale per row (per id for a table, per output channel for a layer
// stored [out, in]). Everything else stays F32. Values are dequantised to float32 when
// the file is loaded; compute is float32 throughout.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__AVX__) || defined(__AVX2__)
#include <immintrin.h>
#endif
#include <string>

#include "tensors.h"

namespace dien {

enum class StorageType { F32, F16, I8 };

// "F32" / "float32", "F16" / "fp16", "I8" / "int8" (the metadata's names); throws InputError.
StorageType storageTypeFromName(const std::string& name);
const char* quantizationName(StorageType t);  // "fp16", "int8" ("" for F32)

// Whether a file of type t stores this tensor quantised.
bool quantizable(const TensorSpec& s);

// IEEE 754 binary16 and bfloat16, round to nearest even; portable (no F16C needed).
uint16_t floatToHalf(float f);
uint16_t floatToBf16(float f);

inline float halfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24, exact in float
    float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline float bf16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// A 16-bit value at any address (a tensor of a file need not be aligned).
inline uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Element [row, col] of a quantised [rows, cols] tensor as float32.
inline float decodeAt(StorageType type, const uint8_t* data, const uint8_t* scales, int64_t row, int64_t cols,
                      int64_t col) {
  if (type == StorageType::F16) return halfToFloat(load16(data + 2 * (row * cols + col)));
  float scale = bf16ToFloat(load16(scales + 2 * row));
  if (!(scale >= 0.0f && scale <= 3.4e38f)) scale = std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(reinterpret_cast<const int8_t*>(data)[row * cols + col]) * scale;
}

// Row `row` of a quantised [rows, cols] tensor as float32 into dst (docs/model.md §12).
// Eight values at a time where the build has F16C / AVX2, the rest one by one.
inline void decodeRow(StorageType type, const uint8_t* data, const uint8_t* scales, int64_t row, int64_t cols,
                      float* dst) {
  int64_t c = 0;
  if (type == StorageType::F16) {
    const uint8_t* src = data + 2 * row * cols;
#if defined(__F16C__) && defined(__AVX__)
    for (; c + 8 <= cols; c += 8)
      _mm256_storeu_ps(dst + c, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * c))));
#endif
    for (; c < cols; ++c) dst[c] = halfToFloat(load16(src + 2 * c));
    return;
  }
  float scale = bf16ToFloat(load16(scales + 2 * row));
  // A mapped file's scales are checked where read: a bad one makes the row NaN, which
  // the forward pass reports as DIEN_NON_FINITE rather than returning a wrong score.
  if (!(scale >= 0.0f && scale <= 3.4e38f)) scale = std::numeric_limits<float>::quiet_NaN();
  const int8_t* src = reinterpret_cast<const int8_t*>(data) + row * cols;
#if defined(__AVX2__)
  const __m256 vs = _mm256_set1_ps(scale);
  for (; c + 8 <= cols; c += 8) {
    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src + c));
    _mm256_storeu_ps(dst + c, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), vs));
  }
#endif
  for (; c < cols; ++c) dst[c] = static_cast<float>(src[c]) * scale;
}

// Row r of x[rows, cols]: scale_r = max_c |x[r, c]| / 127 rounded up to bfloat16 (0 for a
// row of zeros), q[r, c] = round(x[r, c] / scale_r), within [-127, 127]. The error of a
// value is at most scale_r / 2. x must be finite.
void quantizeRowsI8(const float* x, int64_t rows, int64_t cols, int8_t* q, uint16_t* scales);

}  // namespace dien
