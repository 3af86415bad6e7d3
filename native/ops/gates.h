// Gate math shared by every backend. Each function is __host__ __device__ so the CPU
// kernels, the CUDA kernels and the native tests run the very same arithmetic.
//
// exp is a Cephes-style polynomial (max relative error ~2 ulp) written with plain
// arithmetic so that compilers vectorise the CPU gate loops; libm's expf would keep
// them scalar and cost more than the GEMMs around them.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define DIEN_HD __host__ __device__ __forceinline__
#else
#define DIEN_HD inline
#endif

namespace dien {

enum class GruCell : int { ResetAfter = 0, ResetBefore = 1 };
// How the evolution layer mixes its candidate state n with the old state h (docs/model.md §6).
enum class Evolution : int { Augru = 0, AugruOrig = 1, Agru = 2, Aigru = 3, GruAtt = 4 };

DIEN_HD float bitsToFloat(int32_t bits) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(bits);
#else
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

DIEN_HD uint32_t floatToBits(float f) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint32_t>(__float_as_int(f));
#else
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
#endif
}

DIEN_HD float expApprox(float x) {
  // Clamp so that 2^k stays a normal float; exp(-87.3) ~ 1.2e-38, exp(88.3) ~ 2.2e38.
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  // Round x / ln2 to the nearest integer with the 1.5 * 2^23 trick (no libm call).
  const float shifter = 12582912.0f;
  const float kShifted = x * 1.44269504088896341f + shifter;
  float k = kShifted - shifter;
  // Cody-Waite reduction: r = x - k ln2 in two parts.
  float r = x - k * 0.693359375f;
  r = r - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = (p * r) * r + r + 1.0f;
  // 2^k from k's bits in kShifted, in unsigned arithmetic: defined for any input (a NaN
  // x gives a NaN y, and so a NaN result, as it should; converting a NaN k to int would not be defined).
  const uint32_t ki = floatToBits(kShifted) - floatToBits(shifter);
  return y * bitsToFloat(static_cast<int32_t>((ki + 127u) << 23));
}

DIEN_HD float sigmoid(float x) { return 1.0f / (1.0f + expApprox(-x)); }

// tanh(x) = 1 - 2 / (exp(2x) + 1): absolute error ~1e-7, which is what the
// norm-wise tolerance of docs/model.md §14 measures.
DIEN_HD float tanhApprox(float x) { return 1.0f - 2.0f / (expApprox(2.0f * x) + 1.0f); }

// Candidate state of one hidden element.
//   reset-after:  n = tanh(gi_n + r * gh_n)      (gh_n already holds W_hn h + b_hn)
//   reset-before: n = tanh(gi_n + gh_n)          (gh_n holds W_hn (r o h) + b_hn)
DIEN_HD float gruCandidate(GruCell cell, float giN, float ghN, float r) {
  return tanhApprox(cell == GruCell::ResetAfter ? giN + r * ghN : giN + ghN);
}

// New state from the keep gate z, the candidate n, the old state h and the attention
// weight a of this step (ignored by the plain GRU forms). Templated: training runs it in
// float64 too (gate_grads.h holds its derivative).
template <class S>
DIEN_HD S evolveState(Evolution kind, S a, S z, S n, S h) {
  switch (kind) {
    case Evolution::Augru: {
      const S u = a * (S(1) - z);
      return (S(1) - u) * h + u * n;
    }
    case Evolution::AugruOrig: {
      const S zz = (S(1) - a) * z;
      return zz * h + (S(1) - zz) * n;
    }
    case Evolution::Agru: return (S(1) - a) * h + a * n;
    default:  // aigru and gru-att run a plain GRU step (aigru scales its input instead)
      return (S(1) - z) * n + z * h;
  }
}

// The plain GRU step: h' = (1 - z) n + z h.
DIEN_HD float gruState(float z, float n, float h) { return (1.0f - z) * n + z * h; }

// PReLU with a per-channel slope.
DIEN_HD float prelu(float x, float slope) { return x >= 0.0f ? x : slope * x; }

// Dice (docs/model.md §7) with running statistics: p = sigmoid((x - mean) * invStd).
DIEN_HD float dice(float x, float mean, float invStd, float alpha) {
  const float p = sigmoid((x - mean) * invStd);
  return p * x + (1.0f - p) * alpha * x;
}

}  // namespace dien
