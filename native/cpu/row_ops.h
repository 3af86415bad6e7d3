// Small row loops shared by the CPU ops, written so that compilers vectorise them.
#pragma once

#include "../ops/gates.h"

namespace dien {

inline void addBias(float* row, const float* bias, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) row[i] += bias[i];
}

inline void sigmoidRow(float* row, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) row[i] = sigmoid(row[i]);
}

inline float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace dien
