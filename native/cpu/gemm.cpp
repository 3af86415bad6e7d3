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

// The register tile: MR rows x NV vectors of C stay in registers for the whole K loop,
// written with GCC/Clang vector extensions so that they are vector registers on every
// target. With AVX-512 the main tile is 6 x 32 (12 zmm accumulators), elsewhere 6 x 16.
typedef float vec __attribute__((vector_size(kPanel * sizeof(float))));
typedef float vecu __attribute__((vector_size(kPanel * sizeof(float)), aligned(4)));  // unaligned access

template <int MR, int NV>
inline void microKernel(int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc, bool accumulate) {
  vec acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v] = accumulate ? *reinterpret_cast<const vecu*>(c + r * ldc + v * kPanel) : vec{};
  for (int p = 0; p < k; ++p) {
    const float* bp = b + static_cast<size_t>(p) * ldb;
    vec bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = *reinterpret_cast<const vecu*>(bp + v * kPanel);
    for (int r = 0; r < MR; ++r) {
      const float av = a[static_cast<size_t>(r) * lda + p];
      for (int v = 0; v < NV; ++v) acc[r][v] += av * bv[v];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) *reinterpret_cast<vecu*>(c + r * ldc + v * kPanel) = acc[r][v];
}

// The tiles: rows x vectors of accumulators. 6 x 2 (12 accumulators) fits the 16 ymm or
// 32 zmm registers of AVX and the 32 of NEON. A single leftover panel (108 gate columns
// are 7 zmm panels) takes 12 rows, so that it too keeps a dozen FMAs in flight instead of
// six. With SSE alone a vector of 8 floats takes two of the 16 xmm registers, and 6 x 2
// would spill on every step: 4 x 1 there.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(__AVX__)
constexpr int kRows = 4;
constexpr int kRowsOne = 4;
constexpr bool kTwoVectors = false;
#else
constexpr int kRows = 6;
constexpr int kRowsOne = 12;
constexpr bool kTwoVectors = true;
#endif

// The last left < R rows of a panel, one kernel of exactly that height.
template <int NV, int R>
void rowsLeft(int left, int k, const float* a, int lda, const float* bp, int ldb, float* c, int ldc, bool accumulate) {
  if constexpr (R > 1) {
    if (left == R - 1)
      microKernel<R - 1, NV>(k, a, lda, bp, ldb, c, ldc, accumulate);
    else
      rowsLeft<NV, R - 1>(left, k, a, lda, bp, ldb, c, ldc, accumulate);
  }
}

// All rows of C against one column panel of NV vectors.
template <int NV>
void panel(int m, int k, const float* a, int lda, const float* bp, int ldb, float* cp, int ldc, bool accumulate) {
  constexpr int R = NV == 1 ? kRowsOne : kRows;
  int i = 0;
  for (; i + R <= m; i += R)
    microKernel<R, NV>(k, a + static_cast<size_t>(i) * lda, lda, bp, ldb, cp + static_cast<size_t>(i) * ldc, ldc,
                       accumulate);
  if (i < m)
    rowsLeft<NV, R>(m - i, k, a + static_cast<size_t>(i) * lda, lda, bp, ldb, cp + static_cast<size_t>(i) * ldc, ldc,
                    accumulate);
}

}  // namespace

void gemm(int m, const float* a, int lda, const PackedMatrix& b, float* c, int ldc, bool accumulate) {
  const int k = b.k;
  if (k == 0) {
    if (!accumulate)
      for (int i = 0; i < m; ++i) std::memset(c + static_cast<size_t>(i) * ldc, 0, sizeof(float) * b.np);
    return;
  }
  int j0 = 0;
  if constexpr (kTwoVectors)
    for (; j0 + 2 * kPanel <= b.np; j0 += 2 * kPanel)
      panel<2>(m, k, a, lda, b.ptr() + j0, b.np, c + j0, ldc, accumulate);
  for (; j0 < b.np; j0 += kPanel) panel<1>(m, k, a, lda, b.ptr() + j0, b.np, c + j0, ldc, accumulate);
}

}  // namespace dien
