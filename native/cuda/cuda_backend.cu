// The CUDA backend: weights uploaded once (device_weights.cu), inputs staged through one
// pinned buffer and one copy per call, one stream per model, a workspace that only
// grows (no cudaMalloc on the hot path once warm). Kernels in this folder, each beside
// a CPU twin of the same name in native/cpu/; this file is the twin of cpu_backend.cpp.
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "../common/errors.h"
#include "buffers.h"
#include "check.h"
#include "cuda_backend.h"
#include "device_weights.h"
#include "kernels.cuh"

namespace dien {

namespace {

class CudaBackend final : public Backend {
 public:
  CudaBackend(const Config& c, const Weights& w) : cfg_(c), weights_(w) {
    DIEN_CUDA_CHECK(cudaSetDevice(0));
    cudaDeviceProp prop{};
    DIEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    sharedMem_ = prop.sharedMemPerBlockOptin;
    dw_ = std::make_unique<cuda::DeviceWeights>(c, w, sharedMem_);
    DIEN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaBackend() override {
    if (stream_) cudaStreamDestroy(stream_);
  }

  // A training step changed the host weights: upload them again (training runs on the CPU).
  void weightsChanged() override {
    std::lock_guard<std::mutex> lock(mutex_);
    dw_ = std::make_unique<cuda::DeviceWeights>(cfg_, weights_, sharedMem_);
  }
  const char* name() const override { return "cuda"; }
  int threads() const override { return 1; }

  void predict(const BatchView& b, float* logits) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const int n = static_cast<int>(b.batch);
    if (n == 0) return;
    const size_t N = static_cast<size_t>(n), T = static_cast<size_t>(cfg_.maxLen);
    int32_t* h = stage(n, n);
    std::memcpy(h, b.histLen, sizeof(int32_t) * N);
    std::memcpy(h + N, b.histItem, sizeof(int32_t) * N * T);
    std::memcpy(h + N + N * T, b.histCat, sizeof(int32_t) * N * T);
    int32_t* cand = h + N + 2 * N * T;
    std::memcpy(cand, b.targetItem, sizeof(int32_t) * N);
    std::memcpy(cand + N, b.targetCat, sizeof(int32_t) * N);
    if (b.user)
      std::memcpy(cand + 2 * N, b.user, sizeof(int32_t) * N);
    else
      std::memset(cand + 2 * N, 0, sizeof(int32_t) * N);
    // Samples longest first, so that the sequences of one recurrent block end together.
    longestFirst(b.histLen, N, cfg_.maxLen, cand + 3 * N, lengthCounts_);
    run(n, n, 1, logits);
  }

  void scoreCandidates(const CandidatesView& v, float* logits) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const int k = static_cast<int>(v.count);
    if (k == 0) return;
    const int T = cfg_.maxLen, L = static_cast<int>(v.length);
    int32_t* h = stage(1, k);
    h[0] = L;
    std::fill(h + 1, h + 1 + 2 * T, 0);
    std::memcpy(h + 1, v.histItem, sizeof(int32_t) * L);
    std::memcpy(h + 1 + T, v.histCat, sizeof(int32_t) * L);
    int32_t* cand = h + 1 + 2 * T;
    std::memcpy(cand, v.items, sizeof(int32_t) * k);
    std::memcpy(cand + k, v.cats, sizeof(int32_t) * k);
    std::fill(cand + 2 * k, cand + 3 * k, v.user < 0 ? 0 : v.user);
    for (int i = 0; i < k; ++i) cand[3 * k + i] = i;  // one history: every candidate has its length
    run(1, k, 0, logits);
  }

 private:
  // Ints of one call: [len nrec | histItem nrec*T | histCat nrec*T | item n | cat n | user n | order n].
  size_t stagedInts(int nrec, int n) const {
    return static_cast<size_t>(nrec) * (1 + 2 * cfg_.maxLen) + 4 * static_cast<size_t>(n);
  }
  int32_t* stage(int nrec, int n) { return pinnedIn_.ensure<int32_t>(stagedInts(nrec, n)); }

  cuda::GruLaunch gruLaunch(const cuda::GruDev& g, int n, int recStride, const int32_t* len, const float* gi) const {
    cuda::GruLaunch p;
    p.g = g;
    p.cell = cfg_.gruCell;
    p.n = n;
    p.T = cfg_.maxLen;
    p.recStride = recStride;
    p.len = len;
    p.gi = gi;
    return p;
  }

  void run(int nrec, int n, int recStride, float* logits) {
    const cuda::DeviceWeights& dw = *dw_;
    const int T = cfg_.maxLen, E = cfg_.embedWidth(), H = cfg_.hidden;
    const size_t rows = static_cast<size_t>(nrec) * T;
    const size_t ints = stagedInts(nrec, n);
    int32_t* dInts = ints_.ensure<int32_t>(ints);
    float* X = X_.ensure<float>(rows * E);
    float* sRec = sRec_.ensure<float>(static_cast<size_t>(nrec) * E);
    float* att = att_.ensure<float>(static_cast<size_t>(n) * T);
    const int width = std::max(cfg_.interestWidth(), 1);
    float* interest = interest_.ensure<float>(static_cast<size_t>(n) * width);
    float* dOut = out_.ensure<float>(static_cast<size_t>(n));
    float* hOut = pinnedOut_.ensure<float>(static_cast<size_t>(n));
    DIEN_CUDA_CHECK(
        cudaMemcpyAsync(dInts, pinnedIn_.get<int32_t>(), ints * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    cuda::CandidateInputs in;
    in.n = n;
    in.T = T;
    in.recStride = recStride;
    in.len = dInts;
    const int32_t* histItem = dInts + nrec;
    const int32_t* histCat = histItem + rows;
    in.item = histCat + rows;
    in.cat = in.item + n;
    in.user = cfg_.hasUser() ? in.cat + n : nullptr;
    const int32_t* order = in.cat + 2 * n;
    const int32_t* recOrder = recStride == 1 ? order : nullptr;  // records are the samples in predict

    cuda::embedRecords(stream_, dw.emb, nrec, T, histItem, histCat, in.len, X, sRec);
    const float* keys = X;
    float* GI2 = nullptr;
    if (cfg_.hasGru()) {
      float* GI = GI_.ensure<float>(rows * 3 * H);
      float* Hs = Hs_.ensure<float>(rows * H);
      GI2 = GI2_.ensure<float>(rows * 3 * H);
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, E, X, dw.extractorWih, nullptr, GI);
      cuda::GruLaunch ext = gruLaunch(dw.extractor, nrec, 1, in.len, GI);
      ext.order = recOrder;
      ext.out = Hs;
      cuda::gruRecurrent(stream_, ext);
      // Evolution input projections (bias excluded: aigru scales W x, not b).
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, H, Hs, dw.evolutionWih, nullptr, GI2);
      keys = Hs;
      if (cfg_.evolution == Evolution::GruAtt) {
        float* H2s = H2s_.ensure<float>(rows * H);
        cuda::GruLaunch second = gruLaunch(dw.evolution, nrec, 1, in.len, GI2);
        second.order = recOrder;
        second.out = H2s;
        cuda::gruRecurrent(stream_, second);
        keys = H2s;
      }
    }
    if (cfg_.hasAttention()) {
      cuda::attention(stream_, cuda::AttentionLaunch{dw.scorer, dw.emb, in, keys, att}, dw.attentionSmem);
      if (cfg_.hasGru() && cfg_.evolution != Evolution::GruAtt) {
        cuda::GruLaunch evo = gruLaunch(dw.evolution, n, recStride, in.len, GI2);
        evo.mix = cfg_.evolution;
        evo.order = order;
        evo.att = att;
        evo.scaleInput = cfg_.evolution == Evolution::Aigru;
        evo.hFinal = interest;
        cuda::gruRecurrent(stream_, evo);
      } else {  // din and gru-att
        cuda::attentionPool(stream_, in, att, keys, width, interest);
      }
    }
    cuda::OutputLaunch o;
    o.m = dw.mlp;
    o.emb = dw.emb;
    o.in = in;
    o.interestWidth = cfg_.interestWidth();
    o.pnn = cfg_.model == ModelKind::Pnn;
    o.histCat = histCat;
    o.sRec = sRec;
    o.interest = interest;
    o.out = dOut;
    cuda::outputMlp(stream_, o, dw.outputSmem);
    DIEN_CUDA_CHECK(
        cudaMemcpyAsync(hOut, dOut, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    DIEN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::memcpy(logits, hOut, static_cast<size_t>(n) * sizeof(float));
  }

  const Config cfg_;
  const Weights& weights_;
  size_t sharedMem_ = 0;
  std::unique_ptr<cuda::DeviceWeights> dw_;
  cudaStream_t stream_ = nullptr;
  cuda::DeviceBuffer ints_, X_, sRec_, GI_, Hs_, GI2_, H2s_, att_, interest_, out_;
  cuda::PinnedBuffer pinnedIn_, pinnedOut_;
  std::vector<size_t> lengthCounts_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(const Config& c, const Weights& w) {
  return std::make_unique<CudaBackend>(c, w);
}

}  // namespace dien
