// Small row loops shared by the CPU ops, written so that compilers vectorise them.
#pragma once

#include "../ops/gates.h"

// packed_weights.h (and so this file) is also compiled by nvcc for the CUDA tests, whose
// host compiler is not given -fopenmp-simd: the hint is left out there.
#if defined(__CUDACC__)
#define DIEN_SIMD
#define DIEN_SIMD_SUM(s)
#else
#define DIEN_SIMD _Pragma("omp simd")
#define DIEN_SIMD_SUM(s) _Pragma("omp simd reduction(+ : s)")
#endif

namespace dien {

inline void addBias(float* row, const float* bias, int n) {
  DIEN_SIMD
  for (int i = 0; i < n; ++i) row[i] += bias[i];
}

inline void sigmoidRow(float* row, int n) {
  DIEN_SIMD
  for (int i = 0; i < n; ++i) row[i] = sigmoid(row[i]);
}

// A short row copy (an embedding row, a hidden state) inline: libc's memcpy costs a call
// per row, and the gather and the recurrence copy tens of thousands of rows per batch.
inline void copyRow(float* dst, const float* src, int n) {
  DIEN_SIMD
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

inline float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
  DIEN_SIMD_SUM(s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace dien
