// Embedding gather for histories (docs/model.md §3) and their masked sums (§7): one
// block per record, threads over the E columns. CPU twin: native/cpu/embed.cpp.
#include "check.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

namespace {

__global__ void embedKernel(EmbedTables e, int T, const int32_t* histItem, const int32_t* histCat, const int32_t* len,
                            float* X, float* sRec) {
  const int r = blockIdx.x;
  const int E = e.dItem + e.dCat;
  const int L = len[r];
  for (int k = threadIdx.x; k < E; k += blockDim.x) {
    float sum = 0.f;
    for (int t = 0; t < T; ++t) {
      float v = 0.f;
      if (t < L) {
        const size_t at = static_cast<size_t>(r) * T + t;
        v = k < e.dItem ? e.item[static_cast<size_t>(histItem[at]) * e.dItem + k]
                        : e.cat[static_cast<size_t>(histCat[at]) * e.dCat + (k - e.dItem)];
        sum += v;
      }
      X[(static_cast<size_t>(r) * T + t) * E + k] = v;
    }
    sRec[static_cast<size_t>(r) * E + k] = sum;
  }
}

}  // namespace

void embedRecords(cudaStream_t s, const EmbedTables& e, int nrec, int T, const int32_t* histItem,
                  const int32_t* histCat, const int32_t* len, float* X, float* sRec) {
  if (nrec == 0) return;
  embedKernel<<<nrec, 64, 0, s>>>(e, T, histItem, histCat, len, X, sRec);
  DIEN_CUDA_LAUNCHED("embedKernel");
}

}  // namespace cuda
}  // namespace dien
