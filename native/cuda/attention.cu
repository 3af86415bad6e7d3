// Attention for all steps at once with a fused masked softmax: one block per scored
// candidate. The mlp scorer's first layer is applied in the split form of
// native/cpu/packed_weights.h, with the per-candidate matrix
//   M^T[i][o] = (W_b - W_c)^T[i][o] + W_d^T[i][o] q[i]
// built once in shared memory, so each step costs one [kw] x [kw, A1] product.
// Warps take steps round-robin. CPU twin: native/cpu/attention.cpp.
#include "../common/errors.h"
#include "check.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

namespace {

constexpr int kWarps = 4;

__device__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Layout of the dynamic shared memory (floats).
struct AttLayout {
  int ea, q, c, mT, buf, scores, total;
  __host__ __device__ AttLayout(const ScorerDev& sc, int T, int E) {
    ea = 0;
    q = ea + E;
    c = q + (sc.kw > E ? sc.kw : E);
    mT = c + sc.a1;
    buf = mT + (sc.bilinear ? 0 : sc.kw * sc.a1);
    scores = buf + kWarps * 2 * sc.maxWidth;
    total = scores + T + 2 * kWarps;
  }
};

__global__ void attentionKernel(AttentionLaunch p) {
  extern __shared__ float sm[];
  const ScorerDev& sc = p.sc;
  const int E = p.emb.dItem + p.emb.dCat, kw = sc.kw, T = p.in.T;
  const AttLayout lay(sc, T, E);
  float* ea = sm + lay.ea;
  float* q = sm + lay.q;
  float* cvec = sm + lay.c;
  float* mT = sm + lay.mT;
  float* scores = sm + lay.scores;
  float* red = scores + T;
  const int j = blockIdx.x, tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int rec = recordOf(p.in.rec, j);
  const int L = p.in.len[rec];
  if (L == 0) return;  // no weights at all; nothing reads att for this candidate
  const int item = p.in.item[j], cat = p.in.cat[j];
  for (int k = tid; k < E; k += blockDim.x)
    ea[k] = k < p.emb.dItem ? p.emb.item[static_cast<size_t>(item) * p.emb.dItem + k]
                            : p.emb.cat[static_cast<size_t>(cat) * p.emb.dCat + (k - p.emb.dItem)];
  __syncthreads();
  const float* keys = p.keys + static_cast<size_t>(rec) * T * kw;
  if (sc.bilinear) {
    for (int o = tid; o < kw; o += blockDim.x) {
      float v = 0.f;
      for (int i = 0; i < E; ++i) v += sc.waT[i * kw + o] * ea[i];
      q[o] = v;  // v = W_a e_a
    }
    __syncthreads();
    for (int t = warp; t < L; t += kWarps) {
      float part = 0.f;
      for (int i = lane; i < kw; i += 32) part += keys[static_cast<size_t>(t) * kw + i] * q[i];
      part = warpSum(part);
      if (lane == 0) scores[t] = part;
    }
  } else {
    // Query: PReLU(W_q e_a + b_q) for the GRU models, e_a itself for din.
    if (sc.queryT) {
      for (int o = tid; o < kw; o += blockDim.x) {
        float v = sc.queryBias[o];
        for (int i = 0; i < E; ++i) v += sc.queryT[i * kw + o] * ea[i];
        q[o] = prelu(v, sc.querySlope[o]);
      }
    } else {
      for (int o = tid; o < kw; o += blockDim.x) q[o] = ea[o];
    }
    __syncthreads();
    const int a1 = sc.a1;
    for (int o = tid; o < a1; o += blockDim.x) {
      float v = sc.b0[o];
      for (int i = 0; i < kw; ++i) v += sc.wqcT[i * a1 + o] * q[i];
      cvec[o] = v;
    }
    for (int x = tid; x < kw * a1; x += blockDim.x) mT[x] = sc.wkT[x] + sc.wdT[x] * q[x / a1];
    __syncthreads();
    float* bufA = sm + lay.buf + warp * 2 * sc.maxWidth;
    float* bufB = bufA + sc.maxWidth;
    for (int t = warp; t < L; t += kWarps) {
      const float* kt = keys + static_cast<size_t>(t) * kw;
      for (int o = lane; o < a1; o += 32) {
        float v = cvec[o];
        for (int i = 0; i < kw; ++i) v += mT[i * a1 + o] * kt[i];
        bufA[o] = v;
      }
      __syncwarp();
      if (a1 == 1) {
        if (lane == 0) scores[t] = bufA[0];
        __syncwarp();
        continue;
      }
      float* cur = bufA;
      float* nxt = bufB;
      int width = a1;
      for (int l = 0; l < sc.midCount; ++l) {
        const LayerDev& ly = sc.mid[l];
        for (int o = lane; o < ly.out; o += 32) {
          float v = ly.bias[o];
          for (int i = 0; i < ly.in; ++i) v += ly.wT[i * ly.out + o] * sigmoid(cur[i]);
          nxt[o] = v;
        }
        __syncwarp();
        float* tmp = cur;
        cur = nxt;
        nxt = tmp;
        width = ly.out;
      }
      float part = 0.f;
      for (int i = lane; i < width; i += 32) part += sigmoid(cur[i]) * sc.wLast[i];
      part = warpSum(part);
      if (lane == 0) scores[t] = part + sc.bLast[0];
      __syncwarp();
    }
  }
  __syncthreads();
  // Masked softmax over the L valid steps (max-subtracted).
  float mx = -3.4e38f;
  for (int t = tid; t < L; t += blockDim.x) mx = fmaxf(mx, scores[t]);
  for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
  if (lane == 0) red[warp] = mx;
  __syncthreads();
  mx = red[0];
  for (int w = 1; w < kWarps; ++w) mx = fmaxf(mx, red[w]);
  float sum = 0.f;
  for (int t = tid; t < L; t += blockDim.x) {
    const float e = expApprox(scores[t] - mx);
    scores[t] = e;
    sum += e;
  }
  sum = warpSum(sum);
  if (lane == 0) red[kWarps + warp] = sum;
  __syncthreads();
  sum = 0.f;
  for (int w = 0; w < kWarps; ++w) sum += red[kWarps + w];
  const float inv = 1.0f / sum;
  for (int t = tid; t < L; t += blockDim.x) p.att[static_cast<size_t>(j) * T + t] = scores[t] * inv;
}

__global__ void poolKernel(CandidateInputs in, const float* att, const float* keys, int width, float* interest) {
  const int j = blockIdx.x, T = in.T;
  const int rec = recordOf(in.rec, j);
  const int L = in.len[rec];
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    float v = 0.f;
    for (int t = 0; t < L; ++t)
      v += att[static_cast<size_t>(j) * T + t] * keys[(static_cast<size_t>(rec) * T + t) * width + c];
    interest[static_cast<size_t>(j) * width + c] = v;
  }
}

}  // namespace

size_t attentionSharedBytes(const ScorerDev& sc, int T, int E) {
  return sizeof(float) * static_cast<size_t>(AttLayout(sc, T, E).total);
}

void attention(cudaStream_t s, const AttentionLaunch& p, size_t smem) {
  if (p.in.n == 0) return;
  DIEN_CUDA_CHECK(
      cudaFuncSetAttribute(attentionKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  attentionKernel<<<p.in.n, kWarps * 32, smem, s>>>(p);
  DIEN_CUDA_LAUNCHED("attentionKernel");
}

void attentionPool(cudaStream_t s, const CandidateInputs& in, const float* att, const float* keys, int width,
                   float* interest) {
  if (in.n == 0) return;
  poolKernel<<<in.n, 128, 0, s>>>(in, att, keys, width, interest);
  DIEN_CUDA_LAUNCHED("poolKernel");
}

}  // namespace cuda
}  // namespace dien
