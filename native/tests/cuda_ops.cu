// Op-level CUDA checks against plain CPU loops: the tiled GEMM on awkward shapes.
// Built only when CMake found a CUDA compiler; skipped without a usable device.
#include <cmath>
#include <random>
#include <vector>

#include "cuda/check.h"
#include "cuda/device_probe.h"
#include "cuda/kernels.cuh"
#include "test_harness.h"

using namespace dien;
using namespace dien::test;

TEST(cuda_gemm_matches_naive) {
  const CudaStatus s = probeCuda();
  if (!s.usable) SKIP(cat("no usable CUDA device: ", s.reason));
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int M : {1, 63, 65, 1000})
    for (int K : {1, 17, 36, 108})
      for (int N : {1, 40, 108, 200}) {
        std::vector<float> a(static_cast<size_t>(M) * K), w(static_cast<size_t>(N) * K), bias(N), c(static_cast<size_t>(M) * N, NAN);
        for (float& x : a) x = u(rng);
        for (float& x : w) x = u(rng);
        for (float& x : bias) x = u(rng);
        float *da, *dw, *db, *dc;
        DIEN_CUDA_CHECK(cudaMalloc(&da, a.size() * 4));
        DIEN_CUDA_CHECK(cudaMalloc(&dw, w.size() * 4));
        DIEN_CUDA_CHECK(cudaMalloc(&db, bias.size() * 4));
        DIEN_CUDA_CHECK(cudaMalloc(&dc, c.size() * 4));
        DIEN_CUDA_CHECK(cudaMemcpy(da, a.data(), a.size() * 4, cudaMemcpyHostToDevice));
        DIEN_CUDA_CHECK(cudaMemcpy(dw, w.data(), w.size() * 4, cudaMemcpyHostToDevice));
        DIEN_CUDA_CHECK(cudaMemcpy(db, bias.data(), bias.size() * 4, cudaMemcpyHostToDevice));
        DIEN_CUDA_CHECK(cudaMemcpy(dc, c.data(), c.size() * 4, cudaMemcpyHostToDevice));  // poisoned
        cuda::gemmAWt(nullptr, M, N, K, da, dw, db, dc);
        DIEN_CUDA_CHECK(cudaMemcpy(c.data(), dc, c.size() * 4, cudaMemcpyDeviceToHost));
        cudaFree(da);
        cudaFree(dw);
        cudaFree(db);
        cudaFree(dc);
        double num = 0, den = 0;
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j) {
            double ref = bias[j];
            for (int k = 0; k < K; ++k) ref += static_cast<double>(a[i * K + k]) * w[j * K + k];
            const double d = c[static_cast<size_t>(i) * N + j] - ref;
            num += d * d;
            den += ref * ref;
          }
        CHECK_MSG(std::isfinite(num) && std::sqrt(num / den) <= 1e-6, cat("M=", M, " K=", K, " N=", N, ": error ", std::sqrt(num / den)));
      }
}
