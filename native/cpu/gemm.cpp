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

// MR rows x 16 columns of C held in registers across the whole K loop. With a fixed
// MR the compiler unrolls the row loop and keeps acc in vector registers
// (2 x 8-wide on AVX2, 1 x 16-wide on AVX-512).
template <int MR>
inline void microKernel(int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc, bool accumulate) {
  float acc[MR][kPanel];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < kPanel; ++j) acc[r][j] = accumulate ? c[r * ldc + j] : 0.0f;
  for (int p = 0; p < k; ++p) {
    const float* bp = b + static_cast<size_t>(p) * ldb;
    for (int r = 0; r < MR; ++r) {
      const float av = a[static_cast<size_t>(r) * lda + p];
      for (int j = 0; j < kPanel; ++j) acc[r][j] += av * bp[j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < kPanel; ++j) c[r * ldc + j] = acc[r][j];
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
