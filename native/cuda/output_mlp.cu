// The output network (docs/model.md §7, pnn's products and the wide part of §10): one
// block per candidate builds x = [user, e_a, s, e_a o s, interest] in shared memory and
// runs batch norm, the hidden layers with their activation, the output layer and the
// wide part, writing the logit. CPU twin: native/cpu/output_mlp.cpp.
#include "check.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

namespace {

__device__ float blockSum(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = (blockDim.x + 31) / 32;
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float s = 0.f;
  for (int w = 0; w < warps; ++w) s += red[w];
  return s;
}

__global__ void outputKernel(OutputLaunch p) {
  extern __shared__ float sm[];
  const MlpDev& m = p.m;
  const int D = m.din, E = p.emb.dItem + p.emb.dCat, dU = p.emb.dUser, dI = p.emb.dItem;
  float* x = sm;
  float* bufA = x + D;
  float* bufB = bufA + m.maxWidth;
  float* red = bufB + m.maxWidth;
  const int j = blockIdx.x, tid = threadIdx.x;
  const int rec = recordOf(p.in.rec, j);
  const int item = p.in.item[j], cat = p.in.cat[j];
  const int user = p.in.user ? p.in.user[j] : 0;
  const float* s = p.sRec + static_cast<size_t>(rec) * E;
  for (int k = tid; k < dU; k += blockDim.x) x[k] = p.emb.user[static_cast<size_t>(user) * dU + k];
  for (int k = tid; k < E; k += blockDim.x) {
    const float ea = k < dI ? p.emb.item[static_cast<size_t>(item) * dI + k]
                            : p.emb.cat[static_cast<size_t>(cat) * p.emb.dCat + (k - dI)];
    x[dU + k] = ea;
    x[dU + E + k] = s[k];
    x[dU + 2 * E + k] = ea * s[k];
  }
  __syncthreads();
  float* slot = x + dU + 3 * E;
  if (p.pnn) {
    // Fields (user,) target item, target cat, history item sum, history cat sum.
    if (tid == 0) {
      const float* f[5];
      int nf = 0;
      if (dU > 0) f[nf++] = x;
      f[nf++] = x + dU;
      f[nf++] = x + dU + dI;
      f[nf++] = x + dU + E;
      f[nf++] = x + dU + E + dI;
      int o = 0;
      for (int a = 0; a < nf; ++a)
        for (int b = a + 1; b < nf; ++b) {
          float d = 0.f;
          for (int k = 0; k < dI; ++k) d += f[a][k] * f[b][k];
          slot[o++] = d;
        }
    }
  } else {
    for (int k = tid; k < p.interestWidth; k += blockDim.x)
      slot[k] = p.interest[static_cast<size_t>(j) * p.interestWidth + k];
  }
  __syncthreads();
  if (m.bnScale)
    for (int k = tid; k < D; k += blockDim.x) x[k] = x[k] * m.bnScale[k] + m.bnShift[k];
  __syncthreads();
  const float* cur = x;
  int width = D;
  for (int l = 0; l < m.count; ++l) {
    const LayerDev& ly = m.layers[l];
    float* dst = (l % 2 == 0) ? bufA : bufB;
    for (int o = tid; o < ly.out; o += blockDim.x) {
      float v = ly.bias[o];
      for (int i = 0; i < ly.in; ++i) v += ly.wT[static_cast<size_t>(i) * ly.out + o] * cur[i];
      if (m.activation == 0)
        v = dice(v, ly.mean[o], ly.invStd[o], ly.alpha[o]);
      else if (m.activation == 1)
        v = prelu(v, ly.slope[o]);
      else
        v = v > 0.f ? v : 0.f;
      dst[o] = v;
    }
    __syncthreads();
    cur = dst;
    width = ly.out;
  }
  float part = 0.f;
  for (int i = tid; i < width; i += blockDim.x) part += m.wOut[i] * cur[i];
  const float dotv = blockSum(part, red);
  if (tid == 0) {
    float logit = dotv + m.bOut;
    if (m.wideItem) {
      int hits = 0;
      const int L = p.in.len[rec];
      for (int t = 0; t < L; ++t) hits += p.histCat[static_cast<size_t>(rec) * p.in.T + t] == cat;
      logit += m.wideItem[item] + m.wideCat[cat] + m.wideCross[cat] * static_cast<float>(hits);
      if (m.wideUser) logit += m.wideUser[user];
    }
    p.out[j] = logit;
  }
}

}  // namespace

size_t outputSharedBytes(const MlpDev& m) {
  return sizeof(float) * (static_cast<size_t>(m.din) + 2 * static_cast<size_t>(m.maxWidth) + 32);
}

void outputMlp(cudaStream_t s, const OutputLaunch& p, size_t smem) {
  if (p.in.n == 0) return;
  DIEN_CUDA_CHECK(
      cudaFuncSetAttribute(outputKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  outputKernel<<<p.in.n, 256, smem, s>>>(p);
  DIEN_CUDA_LAUNCHED("outputKernel");
}

}  // namespace cuda
}  // namespace dien
