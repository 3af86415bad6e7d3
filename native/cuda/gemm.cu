// Tiled SGEMM for the input projections of all timesteps: C = A W^T (+ bias).
// 64 x 64 tile per block, 16-deep K slices staged in shared memory, 4 x 4 outputs per
// thread. The CPU twin is native/cpu/gemm.cpp.
#include "check.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

namespace {

constexpr int BM = 64, BN = 64, BK = 16;

__global__ void __launch_bounds__(256)
    gemmAWtKernel(int M, int N, int K, const float* __restrict__ A, const float* __restrict__ W,
                  const float* __restrict__ bias, float* __restrict__ C) {
  __shared__ float As[BK][BM + 4];
  __shared__ float Ws[BK][BN + 4];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int row0 = blockIdx.x * BM, col0 = blockIdx.y * BN;  // rows on x: grids of millions of rows
  float acc[4][4] = {};
  for (int k0 = 0; k0 < K; k0 += BK) {
    // 64 x 16 of A and of W: 1024 values each, 4 per thread.
    for (int i = threadIdx.x; i < BM * BK; i += 256) {
      const int r = i / BK, k = i % BK;
      const int gr = row0 + r, gk = k0 + k;
      As[k][r] = (gr < M && gk < K) ? A[static_cast<size_t>(gr) * K + gk] : 0.0f;
      const int gc = col0 + r;
      Ws[k][r] = (gc < N && gk < K) ? W[static_cast<size_t>(gc) * K + gk] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a[4], w[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) a[i] = As[k][ty * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) w[j] = Ws[k][tx * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += a[i] * w[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int r = row0 + ty * 4 + i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int c = col0 + tx * 4 + j;
      if (c < N) C[static_cast<size_t>(r) * N + c] = acc[i][j] + (bias ? bias[c] : 0.0f);
    }
  }
}

}  // namespace

void gemmAWt(cudaStream_t s, int M, int N, int K, const float* A, const float* W, const float* bias, float* C) {
  if (M == 0 || N == 0) return;
  const dim3 grid((M + BM - 1) / BM, (N + BN - 1) / BN);
  gemmAWtKernel<<<grid, 256, 0, s>>>(M, N, K, A, W, bias, C);
  DIEN_CUDA_LAUNCHED("gemmAWtKernel");
}

}  // namespace cuda
}  // namespace dien
