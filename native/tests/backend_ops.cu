// Every CUDA op against its CPU twin on the same inputs, in the manner of ggml's
// test-backend-ops: gemm, the embedding gather, the GRU recurrence (extractor, the
// second GRU of gru-att, and the evolution GRU gated by attention in every variant),
// attention (bilinear, mlp, din's scorer), attention pooling, and the output MLP (every
// activation, batch norm, pnn, wide-deep). Each CUDA op reads inputs the CPU backend
// produced (moved to the padded device layout), so a mismatch points at one kernel.
// Built when CMake finds a CUDA compiler; skipped without a usable device.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "cpu/attention.h"
#include "cpu/cpu_backend.h"
#include "cpu/embed.h"
#include "cpu/gemm.h"
#include "cpu/output_mlp.h"
#include "cuda/check.h"
#include "cuda/device_probe.h"
#include "cuda/device_weights.h"
#include "cuda/kernels.cuh"
#include "test_harness.h"
#include "test_util.h"
#include "variants.h"

using namespace dien;
using namespace dien::test;

namespace {

constexpr double kTolerance = 1e-5;  // docs/model.md §14, norm-wise

void requireDevice() {
  const CudaStatus s = probeCuda();
  if (!s.usable) SKIP(cat("no usable CUDA device: ", s.reason));
}

// A device copy of a host vector, freed at scope end.
template <typename T>
class DeviceArray {
 public:
  explicit DeviceArray(const std::vector<T>& host) : n_(host.size()) {
    DIEN_CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n_, 1) * sizeof(T)));
    if (n_) DIEN_CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  // n elements, poisoned with NaN bytes so that anything a kernel fails to write shows.
  explicit DeviceArray(size_t n) : n_(n) {
    DIEN_CUDA_CHECK(cudaMalloc(&p_, std::max<size_t>(n_, 1) * sizeof(T)));
    DIEN_CUDA_CHECK(cudaMemset(p_, 0xff, std::max<size_t>(n_, 1) * sizeof(T)));
  }
  ~DeviceArray() { cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return p_; }
  std::vector<T> host() const {
    DIEN_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<T> h(n_);
    if (n_) DIEN_CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  size_t n_;
};

// Accumulates ||cuda - cpu|| / ||cpu|| over the compared values of one op.
struct Compare {
  double num = 0, den = 0;
  size_t count = 0;
  void add(double got, double want) {
    num += (got - want) * (got - want);
    den += want * want;
    ++count;
  }
  double error() const {
    if (!std::isfinite(num)) return INFINITY;
    return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
  }
  void check(const std::string& what) const {
    if (std::getenv("DIEN_TEST_VERBOSE"))
      std::printf("  op %-56s %zu values, error %.3g\n", what.c_str(), count, error());
    CHECK_MSG(count > 0 || den == 0, cat(what, ": nothing compared"));
    CHECK_MSG(error() <= kTolerance, cat(what, ": relative error ", error()));
  }
};

// n records with lengths longest first (as both backends order them): 0, 1 and T among them.
struct Records {
  int n = 0, T = 0;
  std::vector<int> len;
  std::vector<int32_t> histItem, histCat;  // padded [n * T]
  std::vector<const int32_t*> items, cats;
  std::vector<int32_t> lenDevice;  // int32 copy of len
};

Records makeRecords(const Config& c, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Records r;
  r.n = n;
  r.T = c.maxLen;
  for (int j = 0; j < n; ++j)
    r.len.push_back(j == 0 ? c.maxLen : j == n - 1 ? 0 : j == n - 2 ? 1 : static_cast<int>(rng() % (c.maxLen + 1)));
  std::sort(r.len.begin(), r.len.end(), std::greater<int>());
  for (int j = 0; j < n * c.maxLen; ++j) {
    r.histItem.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.itemVocab)));
    r.histCat.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.catVocab)));
  }
  for (int j = 0; j < n; ++j) {
    r.items.push_back(r.histItem.data() + static_cast<size_t>(j) * r.T);
    r.cats.push_back(r.histCat.data() + static_cast<size_t>(j) * r.T);
    r.lenDevice.push_back(r.len[j]);
  }
  return r;
}

// Adds the valid steps (t < len) of two [n, T, width] arrays to cmp; padding is not compared.
void addValidSteps(Compare& cmp, const std::vector<float>& got, const std::vector<float>& want, const Records& r,
                   int width) {
  for (int j = 0; j < r.n; ++j)
    for (int t = 0; t < r.len[j]; ++t)
      for (int k = 0; k < width; ++k) {
        const size_t at = (static_cast<size_t>(j) * r.T + t) * width + k;
        cmp.add(got[at], want[at]);
      }
}

// Packed CPU rows (record j from recOff[j], leading dimension ld) -> the padded device
// layout [n * T, width], zeros past each length.
std::vector<float> padded(const float* rows, int ld, int width, const Workspace& ws, const Records& r) {
  std::vector<float> out(static_cast<size_t>(r.n) * r.T * width, 0.0f);
  for (int j = 0; j < r.n; ++j)
    for (int t = 0; t < r.len[j]; ++t)
      for (int k = 0; k < width; ++k)
        out[(static_cast<size_t>(j) * r.T + t) * width + k] = rows[static_cast<size_t>(ws.recOff[j] + t) * ld + k];
  return out;
}

// Per-candidate packed values (candidate j from candOff[j]) -> [n * T], zeros past each length.
std::vector<float> paddedSteps(const float* v, const Workspace& ws, const Records& r) {
  std::vector<float> out(static_cast<size_t>(r.n) * r.T, 0.0f);
  for (int j = 0; j < r.n; ++j)
    for (int t = 0; t < ws.candLen[j]; ++t) out[static_cast<size_t>(j) * r.T + t] = v[ws.candOff[j] + t];
  return out;
}

size_t smemLimit() {
  cudaDeviceProp prop{};
  DIEN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.sharedMemPerBlockOptin;
}

// Everything one config's ops need: random weights, both backends' weights, records run
// through the CPU record stage, and one candidate per record.
struct OpCase {
  Config c;
  Weights w;
  CpuBackend cpu;
  cuda::DeviceWeights dev;
  Records r;
  Workspace rec, cand;
  std::vector<Candidate> cands;
  std::vector<int32_t> candItem, candCat, candUser;

  static Weights randomWeights(const Config& config, uint64_t seed) {
    Weights w(config);
    randomizeWeights(w, seed);
    return w;
  }

  OpCase(const Config& config, uint64_t seed)
      : c(config),
        w(randomWeights(config, seed)),
        cpu(config, w, 1),
        dev(config, w, smemLimit()),
        r(makeRecords(config, std::min(kTile, 9), seed + 1)),
        rec(config, cpu.packed()),
        cand(config, cpu.packed()) {
    cpu.recordStage(rec, r.n, r.items.data(), r.cats.data(), r.len.data());
    std::mt19937_64 rng(seed + 2);
    for (int j = 0; j < r.n; ++j) {
      candItem.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.itemVocab)));
      candCat.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.catVocab)));
      candUser.push_back(c.hasUser() ? static_cast<int32_t>(rng() % static_cast<uint64_t>(c.userVocab)) : -1);
      cands.push_back(Candidate{j, candItem[j], candCat[j], candUser[j], j});
    }
    cpu.prepareCandidates(rec, cand, r.n, cands.data());
  }

  // The device's view of the candidates: candidate j reads record j.
  cuda::CandidateInputs inputs(const DeviceArray<int32_t>& len, const DeviceArray<int32_t>& item,
                               const DeviceArray<int32_t>& cat, const DeviceArray<int32_t>& user) const {
    cuda::CandidateInputs in;
    in.n = r.n;
    in.T = r.T;
    in.len = len.get();
    in.item = item.get();
    in.cat = cat.get();
    in.user = c.hasUser() ? user.get() : nullptr;
    return in;
  }

  cuda::GruLaunch gru(const cuda::GruDev& g, const DeviceArray<int32_t>& len, const float* gi) const {
    cuda::GruLaunch p;
    p.g = g;
    p.cell = c.gruCell;
    p.n = r.n;
    p.T = r.T;
    p.len = len.get();
    p.gi = gi;
    return p;
  }
};

void gemmOp() {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int M : {1, 63, 65, 1000})
    for (int K : {1, 17, 36, 108})
      for (int N : {1, 40, 108, 200}) {
        std::vector<float> a(static_cast<size_t>(M) * K), w(static_cast<size_t>(N) * K), bias(N);
        for (float& x : a) x = u(rng);
        for (float& x : w) x = u(rng);
        for (float& x : bias) x = u(rng);
        PackedMatrix p;
        p.packTransposed(w.data(), N, K, K);
        std::vector<float> want(static_cast<size_t>(M) * p.np);
        gemm(M, a.data(), K, p, want.data(), p.np, false);
        DeviceArray<float> da(a), dw(w), db(bias), dc(static_cast<size_t>(M) * N);
        cuda::gemmAWt(nullptr, M, N, K, da.get(), dw.get(), db.get(), dc.get());
        const std::vector<float> got = dc.host();
        Compare cmp;
        for (int i = 0; i < M; ++i)
          for (int j = 0; j < N; ++j)
            cmp.add(got[static_cast<size_t>(i) * N + j], want[static_cast<size_t>(i) * p.np + j] + bias[j]);
        cmp.check(cat("gemm M=", M, " K=", K, " N=", N));
      }
}

void embedOp(OpCase& o, const std::string& name) {
  const int E = o.c.embedWidth();
  DeviceArray<int32_t> items(o.r.histItem), cats(o.r.histCat), len(o.r.lenDevice);
  DeviceArray<float> X(static_cast<size_t>(o.r.n) * o.r.T * E), sRec(static_cast<size_t>(o.r.n) * E);
  cuda::embedRecords(nullptr, o.dev.emb, o.r.n, o.r.T, items.get(), cats.get(), len.get(), X.get(), sRec.get());
  const std::vector<float> want = padded(o.rec.X.data(), E, E, o.rec, o.r);
  const std::vector<float> got = X.host(), gotS = sRec.host();
  Compare cmp;
  addValidSteps(cmp, got, want, o.r, E);
  for (size_t k = 0; k < gotS.size(); ++k) cmp.add(gotS[k], o.rec.sRec[k]);
  cmp.check(name + " embed");
}

// One GRU over the CPU's input projections (giRows, packed like the record workspace)
// against the CPU's states (wantRows).
void recordGruOp(OpCase& o, const cuda::GruDev& g, const float* giRows, const float* wantRows,
                 const std::string& what) {
  const int H = o.c.hidden;
  DeviceArray<int32_t> len(o.r.lenDevice);
  DeviceArray<float> gi(padded(giRows, o.rec.ldG, 3 * H, o.rec, o.r));
  DeviceArray<float> hs(static_cast<size_t>(o.r.n) * o.r.T * H);
  cuda::GruLaunch p = o.gru(g, len, gi.get());
  p.out = hs.get();
  cuda::gruRecurrent(nullptr, p);
  const std::vector<float> want = padded(wantRows, H, H, o.rec, o.r);
  const std::vector<float> got = hs.host();
  Compare cmp;
  addValidSteps(cmp, got, want, o.r, H);
  cmp.check(what);
}

// The extractor, and gru-att's second GRU.
void recordGruOps(OpCase& o, const std::string& name) {
  recordGruOp(o, o.dev.extractor, o.rec.GI.data(), o.rec.Hs.data(), name + " extractor recurrence");
  if (o.c.evolution == Evolution::GruAtt)
    recordGruOp(o, o.dev.evolution, o.rec.GI2.data(), o.rec.H2s.data(), name + " second GRU (gru-att)");
}

// Attention weights over the CPU's keys; then the evolution GRU or the pooling that
// reads them, over the CPU's attention weights.
void attentionOps(OpCase& o, const std::string& name) {
  const Config& c = o.c;
  const bool din = c.model == ModelKind::Din;
  const int kw = din ? c.embedWidth() : c.hidden, H = c.hidden;
  attentionWeights(c, o.cpu.packed(), o.rec, o.cand, o.r.n);
  DeviceArray<int32_t> len(o.r.lenDevice), item(o.candItem), cat(o.candCat), user(o.candUser);
  const cuda::CandidateInputs in = o.inputs(len, item, cat, user);
  DeviceArray<float> keys(padded(attentionKeys(c, o.rec), kw, kw, o.rec, o.r));
  DeviceArray<float> att(static_cast<size_t>(o.r.n) * o.r.T);
  cuda::attention(nullptr, cuda::AttentionLaunch{o.dev.scorer, o.dev.emb, in, keys.get(), att.get()},
                  o.dev.attentionSmem);
  const std::vector<float> gotAtt = att.host();
  const std::vector<float> wantAtt = paddedSteps(o.cand.att.data(), o.cand, o.r);
  Compare cmp;
  addValidSteps(cmp, gotAtt, wantAtt, o.r, 1);
  cmp.check(name + " attention weights");

  // The next op reads the CPU's weights, not the CUDA ones just compared.
  DeviceArray<float> cpuAtt(wantAtt);
  const int width = c.interestWidth();
  DeviceArray<float> interest(static_cast<size_t>(o.r.n) * width);
  if (c.hasGru() && c.evolution != Evolution::GruAtt) {
    o.cpu.evolution(o.rec, o.cand, o.r.n);
    DeviceArray<float> gi2(padded(o.rec.GI2.data(), o.rec.ldG, 3 * H, o.rec, o.r));
    cuda::GruLaunch evo = o.gru(o.dev.evolution, len, gi2.get());
    evo.mix = c.evolution;
    evo.att = cpuAtt.get();
    evo.scaleInput = c.evolution == Evolution::Aigru;
    evo.hFinal = interest.get();
    cuda::gruRecurrent(nullptr, evo);
  } else {
    attentionPool(c, o.rec, o.cand, o.r.n);
    cuda::attentionPool(nullptr, in, cpuAtt.get(), keys.get(), width, interest.get());
  }
  const std::vector<float> got = interest.host();
  Compare cmp2;
  for (size_t k = 0; k < got.size(); ++k) cmp2.add(got[k], o.cand.interest[k]);
  cmp2.check(name + (c.hasGru() && c.evolution != Evolution::GruAtt ? " evolution recurrence" : " attention pooling"));
}

// The output network over the CPU's history sums and interests.
void outputOp(OpCase& o, const std::string& name) {
  const Config& c = o.c;
  const int E = c.embedWidth(), width = std::max(c.interestWidth(), 1);
  std::vector<float> want(o.r.n, NAN);
  outputMlp(c, o.cpu.packed(), o.rec, o.cand, o.r.n, o.cands.data(), want.data());
  std::vector<float> interestHost(static_cast<size_t>(o.r.n) * width, 0.0f);
  if (c.interestWidth() > 0 && c.model != ModelKind::Pnn)
    std::copy(o.cand.interest.begin(), o.cand.interest.begin() + static_cast<long>(interestHost.size()),
              interestHost.begin());
  std::vector<float> sRec(o.rec.sRec.begin(), o.rec.sRec.begin() + static_cast<long>(o.r.n) * E);
  DeviceArray<int32_t> len(o.r.lenDevice), item(o.candItem), cat(o.candCat), user(o.candUser), histCat(o.r.histCat);
  DeviceArray<float> dS(sRec), dInterest(interestHost), out(static_cast<size_t>(o.r.n));
  cuda::OutputLaunch p;
  p.m = o.dev.mlp;
  p.emb = o.dev.emb;
  p.in = o.inputs(len, item, cat, user);
  p.interestWidth = c.interestWidth();
  p.pnn = c.model == ModelKind::Pnn;
  p.histCat = histCat.get();
  p.sRec = dS.get();
  p.interest = dInterest.get();
  p.out = out.get();
  cuda::outputMlp(nullptr, p, o.dev.outputSmem);
  const std::vector<float> got = out.host();
  Compare cmp;
  for (int j = 0; j < o.r.n; ++j) cmp.add(got[j], want[j]);
  cmp.check(name + " output MLP");
}

}  // namespace

TEST(cuda_ops_match_their_cpu_twins) {
  requireDevice();
  gemmOp();
  for (const auto& [name, c] : variants()) {
    OpCase o(c, 17);
    embedOp(o, name);
    if (c.hasGru()) recordGruOps(o, name);
    if (c.hasAttention()) attentionOps(o, name);
    outputOp(o, name);
  }
}
