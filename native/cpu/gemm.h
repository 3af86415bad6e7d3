// Single-precision matrix product for the small, skinny shapes of DIEN:
//   C[M, Np] (+)= A[M, K] * B[K, Np]
// B is a weight matrix packed once at load time: row-major [K, Np] with Np a multiple
// of kPanel (one vector register of floats), zero-filled past the true width N. C then
// always has room for Np columns, so the kernel never needs a masked column tail.
#pragma once

#include <cstddef>
#include <vector>

namespace dien {

#if defined(__AVX512F__)
constexpr int kPanel = 16;  // one zmm register
#else
constexpr int kPanel = 8;  // one ymm register (two xmm / NEON registers elsewhere)
#endif

inline int padPanel(int n) { return (n + kPanel - 1) / kPanel * kPanel; }

// A weight matrix stored transposed and padded for gemm().
struct PackedMatrix {
  int k = 0;   // rows (input width)
  int n = 0;   // true output width
  int np = 0;  // padded output width (leading dimension)
  std::vector<float> data;

  // Packs W given as PyTorch stores it: [n, k] row-major, leading dimension ldw.
  void packTransposed(const float* w, int n_, int k_, int ldw);
  const float* ptr() const { return data.data(); }
};

// C = A * B (accumulate = false) or C += A * B (accumulate = true).
// lda >= K, ldc >= B.np; C must have B.np writable columns per row.
void gemm(int m, const float* a, int lda, const PackedMatrix& b, float* c, int ldc, bool accumulate);

}  // namespace dien
