#include "gemm.h"

#include <algorithm>
#include <cstring>

namespace dien {

void PackedMatrix::packTransposed(const float* w, int n_, int k_, int ldw) {
  n = n_;
  k = k_;
  np = padPanel(n_);
  data.assign(static_cast<size_t>(k) * np, 0.0f);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < k; ++i) data[static_cast<size_t>(i) * np + j] = w[static_cast<size_t>(j) * ldw + i];
}

namespace {

// MR rows x 16 columns of C held in registers across the whole K loop, written with
// GCC/Clang vector extensions so that the accumulators are vector registers whatever
// the target (2 x 8-wide on AVX2/AVX-512, 4 x 4-wide on SSE or NEON).
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));  // unaligned access

template <int MR>
inline void microKernel(int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc, bool accumulate) {
  v8 acc0[MR], acc1[MR];
  for (int r = 0; r < MR; ++r) {
    if (accumulate) {
      acc0[r] = *reinterpret_cast<const v8u*>(c + r * ldc);
      acc1[r] = *reinterpret_cast<const v8u*>(c + r * ldc + 8);
    } else {
      acc0[r] = v8{};
      acc1[r] = v8{};
    }
  }
  for (int p = 0; p < k; ++p) {
    const float* bp = b + static_cast<size_t>(p) * ldb;
    const v8 b0 = *reinterpret_cast<const v8u*>(bp);
    const v8 b1 = *reinterpret_cast<const v8u*>(bp + 8);
    for (int r = 0; r < MR; ++r) {
      const float av = a[static_cast<size_t>(r) * lda + p];
      acc0[r] += av * b0;
      acc1[r] += av * b1;
    }
  }
  for (int r = 0; r < MR; ++r) {
    *reinterpret_cast<v8u*>(c + r * ldc) = acc0[r];
    *reinterpret_cast<v8u*>(c + r * ldc + 8) = acc1[r];
  }
}

constexpr int kRows = 6;

}  // namespace

void gemmCols(int m, const float* a, int lda, const PackedMatrix& b, int col0, int ncols, float* c, int ldc,
              bool accumulate) {
  const int k = b.k;
  if (k == 0) {
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::memset(c + static_cast<size_t>(i) * ldc, 0, sizeof(float) * ncols);
    return;
  }
  for (int j0 = 0; j0 < ncols; j0 += kPanel) {
    const float* bp = b.ptr() + col0 + j0;
    float* cp = c + j0;
    int i = 0;
    for (; i + kRows <= m; i += kRows)
      microKernel<kRows>(k, a + static_cast<size_t>(i) * lda, lda, bp, b.np, cp + static_cast<size_t>(i) * ldc, ldc,
                         accumulate);
    const float* ai = a + static_cast<size_t>(i) * lda;
    float* ci = cp + static_cast<size_t>(i) * ldc;
    switch (m - i) {
      case 5: microKernel<5>(k, ai, lda, bp, b.np, ci, ldc, accumulate); break;
      case 4: microKernel<4>(k, ai, lda, bp, b.np, ci, ldc, accumulate); break;
      case 3: microKernel<3>(k, ai, lda, bp, b.np, ci, ldc, accumulate); break;
      case 2: microKernel<2>(k, ai, lda, bp, b.np, ci, ldc, accumulate); break;
      case 1: microKernel<1>(k, ai, lda, bp, b.np, ci, ldc, accumulate); break;
      default: break;
    }
  }
}

void gemm(int m, const float* a, int lda, const PackedMatrix& b, float* c, int ldc, bool accumulate) {
  gemmCols(m, a, lda, b, 0, b.np, c, ldc, accumulate);
}

}  // namespace dien
