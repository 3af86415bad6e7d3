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
    Staged st = stage(n, n);
    std::memcpy(st.len, b.histLen, sizeof(int32_t) * N);
    std::memcpy(st.histItem, b.histItem, sizeof(int32_t) * N * T);
    std::memcpy(st.histCat, b.histCat, sizeof(int32_t) * N * T);
    std::memcpy(st.item, b.targetItem, sizeof(int32_t) * N);
    std::memcpy(st.cat, b.targetCat, sizeof(int32_t) * N);
    if (b.user)
      std::memcpy(st.user, b.user, sizeof(int32_t) * N);
    else
      std::memset(st.user, 0, sizeof(int32_t) * N);
    // Samples longest first, so that the sequences of one recurrent block end together.
    longestFirst(b.histLen, N, cfg_.maxLen, st.order, lengthCounts_);
    std::memcpy(st.recOrder, st.order, sizeof(int32_t) * N);  // the records are the samples
    for (int i = 0; i < n; ++i) st.rec[i] = i;
    run(n, n, logits);
  }

  // Every request with candidates is one record; its candidates read it. Candidates are
  // ordered by their record's length, longest first, for the evolution GRU's blocks.
  void scoreRequests(const RequestsView& r, float* logits) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const int n = static_cast<int>(r.candidates());
    if (n == 0) return;
    requests_.clear();  // a request without candidates costs nothing
    for (int64_t q = 0; q < r.count; ++q)
      if (r.candOff[q + 1] > r.candOff[q]) requests_.push_back(static_cast<int32_t>(q));
    const int nrec = static_cast<int>(requests_.size()), T = cfg_.maxLen;
    Staged st = stage(nrec, n);
    std::fill(st.histItem, st.histItem + static_cast<size_t>(nrec) * T * 2, 0);
    for (int j = 0; j < nrec; ++j) {
      const int32_t q = requests_[j];
      const int L = r.historyLength(q);
      st.len[j] = L;
      std::memcpy(st.histItem + static_cast<size_t>(j) * T, r.histItem + r.histOff[q], sizeof(int32_t) * L);
      std::memcpy(st.histCat + static_cast<size_t>(j) * T, r.histCat + r.histOff[q], sizeof(int32_t) * L);
      for (int32_t c = r.candOff[q]; c < r.candOff[q + 1]; ++c) {
        st.rec[c] = j;
        st.user[c] = r.user ? r.user[q] : 0;
      }
    }
    std::memcpy(st.item, r.items, sizeof(int32_t) * n);
    std::memcpy(st.cat, r.cats, sizeof(int32_t) * n);
    longestFirst(st.len, static_cast<size_t>(nrec), T, st.recOrder, lengthCounts_);
    int k = 0;  // candidates record by record in record order: longest first
    for (int i = 0; i < nrec; ++i) {
      const int32_t q = requests_[st.recOrder[i]];
      for (int32_t c = r.candOff[q]; c < r.candOff[q + 1]; ++c) st.order[k++] = c;
    }
    run(nrec, n, logits);
  }

 private:
  // Ints of one call, in this order: len nrec | recOrder nrec | histItem nrec*T |
  // histCat nrec*T | item n | cat n | user n | order n | rec n.
  struct Staged {
    int32_t *len, *recOrder, *histItem, *histCat, *item, *cat, *user, *order, *rec;
  };
  size_t stagedInts(int nrec, int n) const {
    return static_cast<size_t>(nrec) * (2 + 2 * static_cast<size_t>(cfg_.maxLen)) + 5 * static_cast<size_t>(n);
  }
  template <typename P>
  Staged layout(P* base, int nrec, int n) const {
    const size_t R = static_cast<size_t>(nrec), N = static_cast<size_t>(n), T = static_cast<size_t>(cfg_.maxLen);
    Staged s;
    s.len = base;
    s.recOrder = s.len + R;
    s.histItem = s.recOrder + R;
    s.histCat = s.histItem + R * T;
    s.item = s.histCat + R * T;
    s.cat = s.item + N;
    s.user = s.cat + N;
    s.order = s.user + N;
    s.rec = s.order + N;
    return s;
  }
  Staged stage(int nrec, int n) { return layout(pinnedIn_.ensure<int32_t>(stagedInts(nrec, n)), nrec, n); }

  cuda::GruLaunch gruLaunch(const cuda::GruDev& g, int n, const int32_t* rec, const int32_t* len,
                            const float* gi) const {
    cuda::GruLaunch p;
    p.g = g;
    p.cell = cfg_.gruCell;
    p.n = n;
    p.T = cfg_.maxLen;
    p.rec = rec;
    p.len = len;
    p.gi = gi;
    return p;
  }

  // A failed call may leave copies and kernels queued that still read the pinned staging
  // buffer or write the workspace: wait for them before the next call reuses both.
  void run(int nrec, int n, float* logits) {
    try {
      enqueueAndWait(nrec, n, logits);
    } catch (...) {
      cudaStreamSynchronize(stream_);
      cudaGetLastError();
      throw;
    }
  }

  void enqueueAndWait(int nrec, int n, float* logits) {
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
    const Staged d = layout(dInts, nrec, n);
    cuda::CandidateInputs in;
    in.n = n;
    in.T = T;
    in.rec = d.rec;
    in.len = d.len;
    in.item = d.item;
    in.cat = d.cat;
    in.user = cfg_.hasUser() ? d.user : nullptr;
    const int32_t* histItem = d.histItem;
    const int32_t* histCat = d.histCat;
    const int32_t* order = d.order;
    const int32_t* recOrder = d.recOrder;

    cuda::embedRecords(stream_, dw.emb, nrec, T, histItem, histCat, in.len, X, sRec);
    const float* keys = X;
    float* GI2 = nullptr;
    if (cfg_.hasGru()) {
      float* GI = GI_.ensure<float>(rows * 3 * H);
      float* Hs = Hs_.ensure<float>(rows * H);
      GI2 = GI2_.ensure<float>(rows * 3 * H);
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, E, X, dw.extractorWih, nullptr, GI);
      cuda::GruLaunch ext = gruLaunch(dw.extractor, nrec, nullptr, in.len, GI);
      ext.order = recOrder;
      ext.out = Hs;
      cuda::gruRecurrent(stream_, ext);
      // Evolution input projections (bias excluded: aigru scales W x, not b).
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, H, Hs, dw.evolutionWih, nullptr, GI2);
      keys = Hs;
      if (cfg_.evolution == Evolution::GruAtt) {
        float* H2s = H2s_.ensure<float>(rows * H);
        cuda::GruLaunch second = gruLaunch(dw.evolution, nrec, nullptr, in.len, GI2);
        second.order = recOrder;
        second.out = H2s;
        cuda::gruRecurrent(stream_, second);
        keys = H2s;
      }
    }
    if (cfg_.hasAttention()) {
      cuda::attention(stream_, cuda::AttentionLaunch{dw.scorer, dw.emb, in, keys, att}, dw.attentionSmem);
      if (cfg_.hasGru() && cfg_.evolution != Evolution::GruAtt) {
        cuda::GruLaunch evo = gruLaunch(dw.evolution, n, in.rec, in.len, GI2);
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
  std::vector<int32_t> requests_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(const Config& c, const Weights& w) {
  return std::make_unique<CudaBackend>(c, w);
}

}  // namespace dien
