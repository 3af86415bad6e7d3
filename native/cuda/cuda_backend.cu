// The CUDA backend: weights uploaded once into one allocation, inputs staged through
// one pinned buffer and one copy per call, one stream per model, workspace that only
// grows (no cudaMalloc on the hot path once warm). Kernels in this folder; their CPU
// twins in native/cpu/.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#include "../common/errors.h"
#include "../model/derived.h"
#include "check.h"
#include "cuda_backend.h"
#include "kernels.cuh"

namespace dien {

namespace {

// A device buffer that grows on demand and frees itself.
class DeviceBuffer {
 public:
  ~DeviceBuffer() { release(); }
  void* ensure(size_t bytes) {
    if (bytes <= capacity_) return ptr_;
    release();
    const size_t want = bytes + bytes / 4;
    DIEN_CUDA_CHECK(cudaMalloc(&ptr_, want));
    capacity_ = want;
    return ptr_;
  }
  void release() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
  }
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_ = nullptr;
  size_t capacity_ = 0;
};

class PinnedBuffer {
 public:
  ~PinnedBuffer() {
    if (ptr_) cudaFreeHost(ptr_);
  }
  void* ensure(size_t bytes) {
    if (bytes <= capacity_) return ptr_;
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
    const size_t want = bytes + bytes / 4;
    DIEN_CUDA_CHECK(cudaMallocHost(&ptr_, want));
    capacity_ = want;
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  size_t capacity_ = 0;
};

std::vector<float> transpose(const float* w, int rows, int cols) {  // [rows][cols] -> [cols][rows]
  std::vector<float> t(static_cast<size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) t[static_cast<size_t>(c) * rows + r] = w[static_cast<size_t>(r) * cols + c];
  return t;
}

// Host image of every device tensor, appended in order; offsets become pointers after upload.
struct Blob {
  std::vector<float> data;
  size_t add(const float* p, size_t n) {
    const size_t at = data.size();
    data.insert(data.end(), p, p + n);
    while (data.size() % 32) data.push_back(0.0f);  // 128-byte alignment for every tensor
    return at;
  }
  size_t add(const std::vector<float>& v) { return add(v.data(), v.size()); }
};

constexpr size_t kNone = static_cast<size_t>(-1);

struct LayerOffsets {
  size_t wT = kNone, bias = kNone, alpha = kNone, mean = kNone, invStd = kNone, slope = kNone;
  int in = 0, out = 0;
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(const Config& c, const Weights& w) : cfg_(c) {
    DIEN_CUDA_CHECK(cudaSetDevice(0));
    cudaDeviceProp prop{};
    DIEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    smemLimit_ = prop.sharedMemPerBlockOptin;
    build(w);
    DIEN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~CudaBackend() override {
    if (stream_) cudaStreamDestroy(stream_);
    if (weights_) cudaFree(weights_);
    if (layers_) cudaFree(layers_);
  }

  const char* name() const override { return "cuda"; }
  int threads() const override { return 1; }

  void predict(const BatchView& b, float* out, bool logits) override {
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
    if (b.user) std::memcpy(cand + 2 * N, b.user, sizeof(int32_t) * N);
    else std::memset(cand + 2 * N, 0, sizeof(int32_t) * N);
    // Samples longest first, so that the sequences of one recurrent block end together.
    longestFirst(b.histLen, N, cfg_.maxLen, cand + 3 * N, lengthCounts_);
    run(n, n, 1, out, logits);
  }

  void scoreCandidates(const CandidatesView& v, float* out, bool logits) override {
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
    run(1, k, 0, out, logits);
  }

 private:
  // Pinned staging for [len nrec | histItem nrec*T | histCat nrec*T | item n | cat n | user n | order n].
  int32_t* stage(int nrec, int n) {
    const size_t ints = static_cast<size_t>(nrec) * (1 + 2 * cfg_.maxLen) + 4 * static_cast<size_t>(n);
    return static_cast<int32_t*>(pinnedIn_.ensure(ints * sizeof(int32_t)));
  }

  void run(int nrec, int n, int recStride, float* out, bool logits) {
    const int T = cfg_.maxLen, E = cfg_.embedWidth(), H = cfg_.hidden;
    const size_t rows = static_cast<size_t>(nrec) * T;
    const size_t ints = static_cast<size_t>(nrec) * (1 + 2 * T) + 4 * static_cast<size_t>(n);
    int32_t* dInts = static_cast<int32_t*>(ints_.ensure(ints * sizeof(int32_t)));
    float* X = static_cast<float*>(X_.ensure(rows * E * sizeof(float)));
    float* sRec = static_cast<float*>(sRec_.ensure(static_cast<size_t>(nrec) * E * sizeof(float)));
    float* att = static_cast<float*>(att_.ensure(static_cast<size_t>(n) * T * sizeof(float)));
    const int width = std::max(cfg_.interestWidth(), 1);
    float* interest = static_cast<float*>(interest_.ensure(static_cast<size_t>(n) * width * sizeof(float)));
    float* dOut = static_cast<float*>(out_.ensure(static_cast<size_t>(n) * sizeof(float)));
    float* hOut = static_cast<float*>(pinnedOut_.ensure(static_cast<size_t>(n) * sizeof(float)));
    float *GI = nullptr, *Hs = nullptr, *GI2 = nullptr, *H2s = nullptr;
    if (cfg_.hasGru()) {
      GI = static_cast<float*>(GI_.ensure(rows * 3 * H * sizeof(float)));
      Hs = static_cast<float*>(Hs_.ensure(rows * H * sizeof(float)));
      GI2 = static_cast<float*>(GI2_.ensure(rows * 3 * H * sizeof(float)));
      if (cfg_.evolution == Evolution::GruAtt) H2s = static_cast<float*>(H2s_.ensure(rows * H * sizeof(float)));
    }
    DIEN_CUDA_CHECK(cudaMemcpyAsync(dInts, pinnedIn_.ensure(0), ints * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));
    const int32_t* len = dInts;
    const int32_t* histItem = dInts + nrec;
    const int32_t* histCat = histItem + rows;
    const int32_t* candItem = histCat + rows;
    const int32_t* candCat = candItem + n;
    const int32_t* candUser = candCat + n;
    const int32_t* order = candUser + n;

    cuda::embedRecords(stream_, emb_, nrec, T, histItem, histCat, len, X, sRec);
    const float* keys = X;
    if (cfg_.hasGru()) {
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, E, X, extWih_, nullptr, GI);
      cuda::GruLaunch ext;
      ext.g = ext_;
      ext.cell = cfg_.gruCell;
      ext.n = nrec;
      ext.T = T;
      ext.len = len;
      ext.order = recStride == 1 ? order : nullptr;  // records are the samples in predict
      ext.gi = GI;
      ext.out = Hs;
      cuda::gruRecurrent(stream_, ext);
      cuda::gemmAWt(stream_, static_cast<int>(rows), 3 * H, H, Hs, evoWih_, nullptr, GI2);
      keys = Hs;
      if (cfg_.evolution == Evolution::GruAtt) {
        cuda::GruLaunch second = ext;
        second.g = evo_;
        second.gi = GI2;
        second.out = H2s;
        cuda::gruRecurrent(stream_, second);
        keys = H2s;
      }
    }
    if (cfg_.hasAttention()) {
      cuda::AttentionLaunch a;
      a.sc = scorer_;
      a.emb = emb_;
      a.n = n;
      a.T = T;
      a.recStride = recStride;
      a.len = len;
      a.candItem = candItem;
      a.candCat = candCat;
      a.keys = keys;
      a.att = att;
      cuda::attention(stream_, a, attSmem_);
      if (cfg_.hasGru() && cfg_.evolution != Evolution::GruAtt) {
        cuda::GruLaunch evo;
        evo.g = evo_;
        evo.cell = cfg_.gruCell;
        evo.mix = cfg_.evolution;
        evo.n = n;
        evo.T = T;
        evo.recStride = recStride;
        evo.len = len;
        evo.order = order;
        evo.gi = GI2;
        evo.att = att;
        evo.scaleInput = cfg_.evolution == Evolution::Aigru;
        evo.hFinal = interest;
        cuda::gruRecurrent(stream_, evo);
      } else {
        cuda::attentionPool(stream_, n, T, recStride, len, att, keys, width, interest);
      }
    }
    cuda::OutputLaunch o;
    o.m = mlp_;
    o.emb = emb_;
    o.n = n;
    o.T = T;
    o.recStride = recStride;
    o.E = E;
    o.interestWidth = cfg_.interestWidth();
    o.pnn = cfg_.model == ModelKind::Pnn;
    o.len = len;
    o.histCat = histCat;
    o.candItem = candItem;
    o.candCat = candCat;
    o.candUser = cfg_.hasUser() ? candUser : nullptr;
    o.sRec = sRec;
    o.interest = interest;
    o.logits = logits;
    o.out = dOut;
    cuda::outputMlp(stream_, o, outSmem_);
    DIEN_CUDA_CHECK(cudaMemcpyAsync(hOut, dOut, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToHost, stream_));
    DIEN_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::memcpy(out, hOut, static_cast<size_t>(n) * sizeof(float));
  }

  void build(const Weights& w) {
    const Config& c = cfg_;
    const int E = c.embedWidth(), H = c.hidden;
    Blob blob;
    auto whole = [&](const std::string& name) {
      return blob.add(w.get(name), static_cast<size_t>(w.spec(name).numel()));
    };
    const size_t itemTable = whole("embedding.item.weight"), catTable = whole("embedding.cat.weight");
    const size_t userTable = c.hasUser() ? whole("embedding.user.weight") : kNone;
    size_t extWih = kNone, extWhhT = kNone, extBih = kNone, extBhh = kNone;
    size_t evoWih = kNone, evoWhhT = kNone, evoBih = kNone, evoBhh = kNone;
    if (c.hasGru()) {
      if (gruSharedNeeded() > smemLimit_)
        throw ConfigError(cat("the CUDA recurrent kernel holds W_hh in shared memory: hidden ", H, " needs ",
                              gruSharedNeeded(), " bytes, the device allows ", smemLimit_));
      extWih = whole("extractor.weight_ih_l0");
      extWhhT = blob.add(transpose(w.get("extractor.weight_hh_l0"), 3 * H, H));
      extBih = whole("extractor.bias_ih_l0");
      extBhh = whole("extractor.bias_hh_l0");
      evoWih = whole("evolution.weight_ih");
      evoWhhT = blob.add(transpose(w.get("evolution.weight_hh"), 3 * H, H));
      evoBih = whole("evolution.bias_ih");
      evoBhh = whole("evolution.bias_hh");
    }
    // Scorer.
    size_t waT = kNone, queryT = kNone, qBias = kNone, qSlope = kNone, wqcT = kNone, wkT = kNone, wdT = kNone,
           b0 = kNone, wLast = kNone, bLast = kNone;
    std::vector<LayerOffsets> mid;
    const bool din = c.model == ModelKind::Din;
    const bool mlpScorer = din || (c.hasGru() && c.attention == AttentionKind::Mlp);
    scorer_.kw = din ? E : H;
    if (c.hasGru() && c.attention == AttentionKind::Bilinear) {
      scorer_.bilinear = true;
      waT = blob.add(transpose(w.get("attention.W"), H, E));
    }
    if (mlpScorer) {
      const std::string prefix = din ? "din.mlp." : "attention.mlp.";
      const int kw = scorer_.kw;
      std::vector<int> widths = c.attentionHidden;
      widths.push_back(1);
      const int a1 = widths[0];
      if (!din) {
        queryT = blob.add(transpose(w.get("attention.query.weight"), H, E));
        qBias = whole("attention.query.bias");
        qSlope = whole("attention.query_prelu.weight");
      }
      const SplitScorerLayer split = splitScorerLayer(w.get(prefix + "0.weight"), a1, kw);
      wqcT = blob.add(transpose(split.q.data(), a1, kw));
      wkT = blob.add(transpose(split.k.data(), a1, kw));
      wdT = blob.add(transpose(split.qk.data(), a1, kw));
      b0 = whole(prefix + "0.bias");
      scorer_.a1 = a1;
      int widest = a1;
      for (size_t l = 1; l + 1 < widths.size(); ++l) {
        LayerOffsets lo;
        lo.in = widths[l - 1];
        lo.out = widths[l];
        lo.wT = blob.add(transpose(w.get(cat(prefix, l, ".weight")), lo.out, lo.in));
        lo.bias = whole(cat(prefix, l, ".bias"));
        mid.push_back(lo);
        widest = std::max(widest, lo.out);
      }
      if (widths.size() > 1) {
        wLast = whole(cat(prefix, widths.size() - 1, ".weight"));
        bLast = whole(cat(prefix, widths.size() - 1, ".bias"));
      }
      scorer_.maxWidth = widest;
    }
    // Output MLP.
    const int D = c.mlpInputWidth();
    size_t bnScale = kNone, bnShift = kNone;
    if (c.mlpBn) {
      const FoldedBatchNorm bn = foldBatchNorm(c, w);
      bnScale = blob.add(bn.scale);
      bnShift = blob.add(bn.shift);
    }
    std::vector<LayerOffsets> mlpLayers;
    int prev = D, widest = 1;
    for (size_t l = 0; l < c.mlpHidden.size(); ++l) {
      LayerOffsets lo;
      lo.in = prev;
      lo.out = c.mlpHidden[l];
      lo.wT = blob.add(transpose(w.get(cat("mlp.layers.", l, ".weight")), lo.out, lo.in));
      lo.bias = whole(cat("mlp.layers.", l, ".bias"));
      if (c.activation == Activation::Dice) {
        lo.alpha = whole(cat("mlp.act.", l, ".alpha"));
        lo.mean = whole(cat("mlp.act.", l, ".running_mean"));
        lo.invStd = blob.add(diceInvStd(c, w, l));
      } else if (c.activation == Activation::Prelu) {
        lo.slope = whole(cat("mlp.act.", l, ".weight"));
      }
      mlpLayers.push_back(lo);
      widest = std::max(widest, lo.out);
      prev = lo.out;
    }
    const size_t wOut = whole("mlp.out.weight");
    size_t wideItem = kNone, wideCat = kNone, wideCross = kNone, wideUser = kNone;
    if (c.model == ModelKind::WideDeep) {
      wideItem = whole("wide.item.weight");
      wideCat = whole("wide.cat.weight");
      wideCross = whole("wide.cross.weight");
      if (c.hasUser()) wideUser = whole("wide.user.weight");
    }

    DIEN_CUDA_CHECK(cudaMalloc(&weights_, blob.data.size() * sizeof(float)));
    DIEN_CUDA_CHECK(cudaMemcpy(weights_, blob.data.data(), blob.data.size() * sizeof(float), cudaMemcpyHostToDevice));
    auto P = [&](size_t off) -> const float* { return off == kNone ? nullptr : weights_ + off; };
    auto layerDev = [&](const LayerOffsets& lo) {
      cuda::LayerDev d;
      d.wT = P(lo.wT);
      d.bias = P(lo.bias);
      d.alpha = P(lo.alpha);
      d.mean = P(lo.mean);
      d.invStd = P(lo.invStd);
      d.slope = P(lo.slope);
      d.in = lo.in;
      d.out = lo.out;
      return d;
    };
    std::vector<cuda::LayerDev> devLayers;
    for (const auto& lo : mid) devLayers.push_back(layerDev(lo));
    for (const auto& lo : mlpLayers) devLayers.push_back(layerDev(lo));
    if (!devLayers.empty()) {
      DIEN_CUDA_CHECK(cudaMalloc(&layers_, devLayers.size() * sizeof(cuda::LayerDev)));
      DIEN_CUDA_CHECK(cudaMemcpy(layers_, devLayers.data(), devLayers.size() * sizeof(cuda::LayerDev), cudaMemcpyHostToDevice));
    }

    emb_.item = P(itemTable);
    emb_.cat = P(catTable);
    emb_.user = P(userTable);
    emb_.dItem = c.dItem;
    emb_.dCat = c.dCat;
    emb_.dUser = c.dUser;
    extWih_ = P(extWih);
    evoWih_ = P(evoWih);
    ext_ = {P(extWhhT), P(extBih), P(extBhh), H};
    evo_ = {P(evoWhhT), P(evoBih), P(evoBhh), H};
    scorer_.waT = P(waT);
    scorer_.queryT = P(queryT);
    scorer_.queryBias = P(qBias);
    scorer_.querySlope = P(qSlope);
    scorer_.wqcT = P(wqcT);
    scorer_.wkT = P(wkT);
    scorer_.wdT = P(wdT);
    scorer_.b0 = P(b0);
    scorer_.mid = mid.empty() ? nullptr : layers_;
    scorer_.midCount = static_cast<int>(mid.size());
    scorer_.wLast = P(wLast);
    scorer_.bLast = P(bLast);
    mlp_.din = D;
    mlp_.bnScale = P(bnScale);
    mlp_.bnShift = P(bnShift);
    mlp_.layers = mlpLayers.empty() ? nullptr : layers_ + mid.size();
    mlp_.count = static_cast<int>(mlpLayers.size());
    mlp_.activation = c.activation == Activation::Dice ? 0 : c.activation == Activation::Prelu ? 1 : 2;
    mlp_.maxWidth = widest;
    mlp_.wOut = P(wOut);
    mlp_.bOut = *w.get("mlp.out.bias");
    mlp_.wideItem = P(wideItem);
    mlp_.wideCat = P(wideCat);
    mlp_.wideCross = P(wideCross);
    mlp_.wideUser = P(wideUser);

    if (c.hasAttention()) {
      attSmem_ = cuda::attentionSharedBytes(scorer_, c.maxLen, E);
      if (attSmem_ > smemLimit_)
        throw ConfigError(cat("the CUDA attention kernel needs ", attSmem_, " bytes of shared memory for this config, the device allows ", smemLimit_));
    }
    outSmem_ = cuda::outputSharedBytes(mlp_);
    if (outSmem_ > smemLimit_)
      throw ConfigError(cat("the CUDA output kernel needs ", outSmem_, " bytes of shared memory, the device allows ", smemLimit_));
  }

  size_t gruSharedNeeded() const { return cuda::gruSharedBytes(cfg_.hidden); }

  const Config cfg_;
  size_t smemLimit_ = 0, attSmem_ = 0, outSmem_ = 0;
  float* weights_ = nullptr;
  cuda::LayerDev* layers_ = nullptr;
  cuda::EmbedTables emb_;
  const float* extWih_ = nullptr;
  const float* evoWih_ = nullptr;
  cuda::GruDev ext_, evo_;
  cuda::ScorerDev scorer_;
  cuda::MlpDev mlp_;
  cudaStream_t stream_ = nullptr;
  DeviceBuffer ints_, X_, sRec_, GI_, Hs_, GI2_, H2s_, att_, interest_, out_;
  PinnedBuffer pinnedIn_, pinnedOut_;
  std::vector<size_t> lengthCounts_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Backend> makeCudaBackend(const Config& c, const Weights& w) {
  return std::make_unique<CudaBackend>(c, w);
}

}  // namespace dien
