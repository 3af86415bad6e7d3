// The dense products of the backward passes, for float and double. Shapes are small
// (a sample's history rows against one layer), so these are plain loops written to
// vectorise along their last, contiguous dimension; the reduction order is fixed, so
// results are the same on every run and every thread count.
#pragma once

#include <cstddef>
#include <cstring>
#include <vector>

namespace dien {
namespace train {

// Lanes of one 64-byte vector of S. The B operand of gemmNN is always a weight copy whose
// rows are padded to whole vectors (net.h), so its column loop never has a scalar tail.
template <class S>
constexpr int kLanes = static_cast<int>(64 / sizeof(S));
template <class S>
inline int padded(int n) {
  return (n + kLanes<S> - 1) / kLanes<S> * kLanes<S>;
}

// [rows, cols] -> [rows, ld] with zeros in columns cols..ld (ld >= cols).
template <class S, class Src>
std::vector<S> padRows(const Src* src, int rows, int cols, int ld) {
  std::vector<S> out(static_cast<size_t>(rows) * ld, S(0));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[static_cast<size_t>(r) * ld + c] = static_cast<S>(src[static_cast<size_t>(r) * cols + c]);
  return out;
}

// C[m, :n] = (accumulate ? C : bias or 0) + A[m, :k] * B[k, :n]   (B row-major [k, ldb])
// B's rows must be readable (and finite) up to padded<S>(n): see kLanes.
template <class S>
void gemmNN(int m, int n, int k, const S* a, int lda, const S* b, int ldb, S* c, int ldc, const S* bias,
            bool accumulate) {
  constexpr int kMaxAcc = 1024;
  const int np = padded<S>(n);
  alignas(64) S acc[kMaxAcc];
  if (np > kMaxAcc) {  // very wide layers: the plain loop, tail and all
    for (int i = 0; i < m; ++i) {
      S* ci = c + static_cast<size_t>(i) * ldc;
      for (int j = 0; j < n; ++j) ci[j] = accumulate ? ci[j] : bias ? bias[j] : S(0);
      for (int p = 0; p < k; ++p) {
        const S ap = a[static_cast<size_t>(i) * lda + p];
        const S* bp = b + static_cast<size_t>(p) * ldb;
        for (int j = 0; j < n; ++j) ci[j] += ap * bp[j];
      }
    }
    return;
  }
  for (int i = 0; i < m; ++i) {
    S* ci = c + static_cast<size_t>(i) * ldc;
    for (int j = 0; j < n; ++j) acc[j] = accumulate ? ci[j] : bias ? bias[j] : S(0);
    for (int j = n; j < np; ++j) acc[j] = S(0);
    const S* ai = a + static_cast<size_t>(i) * lda;
    int p = 0;
    for (; p + 4 <= k; p += 4) {
      const S a0 = ai[p], a1 = ai[p + 1], a2 = ai[p + 2], a3 = ai[p + 3];
      const S* b0 = b + static_cast<size_t>(p) * ldb;
      const S* b1 = b0 + ldb;
      const S* b2 = b1 + ldb;
      const S* b3 = b2 + ldb;
#pragma omp simd aligned(acc : 64)
      for (int j = 0; j < np; ++j) acc[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
    }
    for (; p < k; ++p) {
      const S ap = ai[p];
      const S* bp = b + static_cast<size_t>(p) * ldb;
#pragma omp simd aligned(acc : 64)
      for (int j = 0; j < np; ++j) acc[j] += ap * bp[j];
    }
    for (int j = 0; j < n; ++j) ci[j] = acc[j];
  }
}

// Scratch buffers of the training passes end with this many spare elements, so that
// gemmTN may read the last row of B up to padded<S>(k).
constexpr size_t kSlack = 64;

// C[n, :k] += A[m, :n]^T * B[m, :k]: the weight gradient dW += dY^T X over m rows.
// B's last row must be readable up to padded<S>(k) (kSlack); C is written only to k.
template <class S>
void gemmTN(int m, int n, int k, const S* a, int lda, const S* b, int ldb, S* c, int ldc) {
  constexpr int kMaxAcc = 1024;
  const int kp = padded<S>(k);
  alignas(64) S acc[kMaxAcc];
  if (kp > kMaxAcc || ldb < k) {  // very wide rows: the plain loop
    for (int i = 0; i < m; ++i)
      for (int o = 0; o < n; ++o) {
        const S y = a[static_cast<size_t>(i) * lda + o];
        for (int j = 0; j < k; ++j) c[static_cast<size_t>(o) * ldc + j] += y * b[static_cast<size_t>(i) * ldb + j];
      }
    return;
  }
  for (int o = 0; o < n; ++o) {
    S* co = c + static_cast<size_t>(o) * ldc;
    for (int j = 0; j < k; ++j) acc[j] = co[j];
    for (int j = k; j < kp; ++j) acc[j] = S(0);
    int i = 0;
    for (; i + 4 <= m; i += 4) {
      const S y0 = a[static_cast<size_t>(i) * lda + o], y1 = a[static_cast<size_t>(i + 1) * lda + o];
      const S y2 = a[static_cast<size_t>(i + 2) * lda + o], y3 = a[static_cast<size_t>(i + 3) * lda + o];
      const S* b0 = b + static_cast<size_t>(i) * ldb;
#pragma omp simd aligned(acc : 64)
      for (int j = 0; j < kp; ++j)
        acc[j] += y0 * b0[j] + y1 * b0[ldb + j] + y2 * b0[2 * ldb + j] + y3 * b0[3 * ldb + j];
    }
    for (; i < m; ++i) {
      const S y = a[static_cast<size_t>(i) * lda + o];
      const S* bi = b + static_cast<size_t>(i) * ldb;
#pragma omp simd aligned(acc : 64)
      for (int j = 0; j < kp; ++j) acc[j] += y * bi[j];
    }
    for (int j = 0; j < k; ++j) co[j] = acc[j];
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

// [rows, cols] -> its transpose [cols, ld] with zeros in columns rows..ld (ld >= rows).
template <class S, class Src>
std::vector<S> transposePadded(const Src* src, int rows, int cols, int ld) {
  std::vector<S> out(static_cast<size_t>(cols) * ld, S(0));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      out[static_cast<size_t>(c) * ld + r] = static_cast<S>(src[static_cast<size_t>(r) * cols + c]);
  return out;
}

template <class S>
S dot(int n, const S* a, const S* b) {
  S s = 0;
  for (int j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

}  // namespace train
}  // namespace dien
