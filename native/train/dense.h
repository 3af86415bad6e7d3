// The dense products of the backward passes, for float and double. Shapes are small
// (a sample's history rows against one layer), so these are plain loops written to
// vectorise along their last, contiguous dimension; the reduction order is fixed, so
// results are the same on every run and every thread count.
#pragma once

#include <cstddef>
#include <cstring>

namespace dien {
namespace train {

// C[m, :n] = (accumulate ? C : bias or 0) + A[m, :k] * B[k, :n]   (B row-major [k, n])
template <class S>
void gemmNN(int m, int n, int k, const S* a, int lda, const S* b, int ldb, S* c, int ldc, const S* bias,
            bool accumulate) {
  for (int i = 0; i < m; ++i) {
    S* ci = c + static_cast<size_t>(i) * ldc;
    if (!accumulate) {
      if (bias)
        std::memcpy(ci, bias, sizeof(S) * n);
      else
        std::memset(ci, 0, sizeof(S) * n);
    }
    const S* ai = a + static_cast<size_t>(i) * lda;
    int p = 0;
    for (; p + 4 <= k; p += 4) {
      const S a0 = ai[p], a1 = ai[p + 1], a2 = ai[p + 2], a3 = ai[p + 3];
      const S* b0 = b + static_cast<size_t>(p) * ldb;
      const S* b1 = b0 + ldb;
      const S* b2 = b1 + ldb;
      const S* b3 = b2 + ldb;
#pragma omp simd
      for (int j = 0; j < n; ++j) ci[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
    }
    for (; p < k; ++p) {
      const S ap = ai[p];
      const S* bp = b + static_cast<size_t>(p) * ldb;
#pragma omp simd
      for (int j = 0; j < n; ++j) ci[j] += ap * bp[j];
    }
  }
}

// C[n, :k] += A[m, :n]^T * B[m, :k]: the weight gradient dW += dY^T X over m rows.
template <class S>
void gemmTN(int m, int n, int k, const S* a, int lda, const S* b, int ldb, S* c, int ldc) {
  int i = 0;
  for (; i + 4 <= m; i += 4) {
    const S* a0 = a + static_cast<size_t>(i) * lda;
    const S* b0 = b + static_cast<size_t>(i) * ldb;
    for (int o = 0; o < n; ++o) {
      const S y0 = a0[o], y1 = a0[lda + o], y2 = a0[2 * lda + o], y3 = a0[3 * lda + o];
      S* co = c + static_cast<size_t>(o) * ldc;
#pragma omp simd
      for (int j = 0; j < k; ++j) co[j] += y0 * b0[j] + y1 * b0[ldb + j] + y2 * b0[2 * ldb + j] + y3 * b0[3 * ldb + j];
    }
  }
  for (; i < m; ++i) {
    const S* ai = a + static_cast<size_t>(i) * lda;
    const S* bi = b + static_cast<size_t>(i) * ldb;
    for (int o = 0; o < n; ++o) {
      const S y = ai[o];
      S* co = c + static_cast<size_t>(o) * ldc;
#pragma omp simd
      for (int j = 0; j < k; ++j) co[j] += y * bi[j];
    }
  }
}

// out[:n] += sum over the m rows of A[m, :n] (bias gradients).
template <class S>
void addRows(int m, int n, const S* a, int lda, S* out) {
  for (int i = 0; i < m; ++i) {
    const S* ai = a + static_cast<size_t>(i) * lda;
#pragma omp simd
    for (int j = 0; j < n; ++j) out[j] += ai[j];
  }
}

// [rows, cols] -> [cols, rows]
template <class S, class Src>
void transpose(const Src* src, int rows, int cols, S* dst) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      dst[static_cast<size_t>(c) * rows + r] = static_cast<S>(src[static_cast<size_t>(r) * cols + c]);
}

template <class S>
S dot(int n, const S* a, const S* b) {
  S s = 0;
  for (int j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace train
}  // namespace dien
