// The persistent recurrent kernel: one block runs S sequences for their whole length,
// the time loop inside the kernel, W_hh^T resident in shared memory, one thread per
// (sequence, hidden element), gate math fused (ops/gates.h, shared with the CPU).
// The CPU twin is native/cpu/recurrence.cpp.
#include <algorithm>

#include "check.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

namespace {

int sequencesPerBlock(int H) { return std::max(1, std::min(32, 256 / H)); }

template <Evolution MIX, GruCell CELL>
__global__ void gruRecurrentKernel(GruLaunch p) {
  extern __shared__ float smem[];
  const int H = p.g.H, H3 = 3 * H;
  const int S = blockDim.y;
  float* whhT = smem;         // [H][3H]
  float* hs = whhT + H * H3;  // [S][H] current states
  float* rh = hs + S * H;     // [S][H] r o h (reset-before)
  for (int i = threadIdx.y * blockDim.x + threadIdx.x; i < H * H3; i += blockDim.x * blockDim.y) whhT[i] = p.g.whhT[i];
  const int c = threadIdx.x, sl = threadIdx.y;
  const int slot = blockIdx.x * S + sl;
  const bool valid = slot < p.n && c < H;
  const int seq = valid && p.order ? p.order[slot] : slot;
  const int rec = recordOf(p.rec, seq);
  const int L = valid ? p.len[rec] : 0;
  float h = 0.0f;
  if (c < H) hs[sl * H + c] = 0.0f;
  const float bir = valid ? p.g.bih[c] : 0.f, biz = valid ? p.g.bih[H + c] : 0.f,
              bin = valid ? p.g.bih[2 * H + c] : 0.f;
  const float bhr = valid ? p.g.bhh[c] : 0.f, bhz = valid ? p.g.bhh[H + c] : 0.f,
              bhn = valid ? p.g.bhh[2 * H + c] : 0.f;
  __syncthreads();
  for (int t = 0;; ++t) {
    const bool act = t < L;
    if (!__syncthreads_or(act)) break;
    const float* hrow = hs + sl * H;
    float gr = 0.f, gz = 0.f, gn = 0.f;
    if (act) {
      for (int k = 0; k < H; ++k) {
        const float hk = hrow[k];
        const float* w = whhT + k * H3;
        gr += w[c] * hk;
        gz += w[H + c] * hk;
        if (CELL == GruCell::ResetAfter) gn += w[2 * H + c] * hk;
      }
    }
    float a = 0.f, sc = 1.f, gir = 0.f, giz = 0.f, gin = 0.f;
    if (act) {
      const float* gi = p.gi + (static_cast<size_t>(rec) * p.T + t) * H3;
      gir = gi[c];
      giz = gi[H + c];
      gin = gi[2 * H + c];
      if (p.att) a = p.att[static_cast<size_t>(seq) * p.T + t];
      if (p.scaleInput) sc = a;
    }
    const float r = sigmoid(sc * gir + bir + gr + bhr);
    const float z = sigmoid(sc * giz + biz + gz + bhz);
    float n;
    if (CELL == GruCell::ResetAfter) {
      n = gruCandidate(GruCell::ResetAfter, sc * gin + bin, gn + bhn, r);
    } else {
      if (c < H) rh[sl * H + c] = act ? r * h : 0.f;
      __syncthreads();
      if (act) {
        const float* rrow = rh + sl * H;
        for (int k = 0; k < H; ++k) gn += whhT[k * H3 + 2 * H + c] * rrow[k];
      }
      n = gruCandidate(GruCell::ResetBefore, sc * gin + bin, gn + bhn, 0.f);
    }
    if (act) h = evolveState(MIX, a, z, n, h);
    __syncthreads();  // every thread has read hs for this step
    if (act) {
      hs[sl * H + c] = h;
      if (p.out) p.out[(static_cast<size_t>(rec) * p.T + t) * H + c] = h;
    }
  }
  if (valid && p.hFinal) p.hFinal[static_cast<size_t>(seq) * H + c] = h;
}

template <Evolution MIX>
void launchCell(cudaStream_t s, const GruLaunch& p, dim3 grid, dim3 block, size_t smem) {
  if (p.cell == GruCell::ResetAfter) {
    DIEN_CUDA_CHECK(cudaFuncSetAttribute(gruRecurrentKernel<MIX, GruCell::ResetAfter>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    gruRecurrentKernel<MIX, GruCell::ResetAfter><<<grid, block, smem, s>>>(p);
  } else {
    DIEN_CUDA_CHECK(cudaFuncSetAttribute(gruRecurrentKernel<MIX, GruCell::ResetBefore>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    gruRecurrentKernel<MIX, GruCell::ResetBefore><<<grid, block, smem, s>>>(p);
  }
  DIEN_CUDA_LAUNCHED("gruRecurrentKernel");
}

}  // namespace

size_t gruSharedBytes(int H) {
  const int S = sequencesPerBlock(H);
  return sizeof(float) * (static_cast<size_t>(3) * H * H + 2 * static_cast<size_t>(S) * H);
}

void gruRecurrent(cudaStream_t s, const GruLaunch& p) {
  if (p.n == 0) return;
  const int S = sequencesPerBlock(p.g.H);
  const dim3 block(p.g.H, S);
  const dim3 grid((p.n + S - 1) / S);
  const size_t smem = gruSharedBytes(p.g.H);
  switch (p.mix) {
    case Evolution::Augru: launchCell<Evolution::Augru>(s, p, grid, block, smem); break;
    case Evolution::AugruOrig: launchCell<Evolution::AugruOrig>(s, p, grid, block, smem); break;
    case Evolution::Agru: launchCell<Evolution::Agru>(s, p, grid, block, smem); break;
    default: launchCell<Evolution::GruAtt>(s, p, grid, block, smem); break;
  }
}

}  // namespace cuda
}  // namespace dien
