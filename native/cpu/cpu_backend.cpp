#include "cpu_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "recurrence.h"

namespace dien {

namespace {

// Sigmoid in double for the final probability: the one value users read directly.
inline float probability(float logit) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(logit)))); }

inline void addBias(float* row, const float* bias, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) row[i] += bias[i];
}

inline void sigmoidRow(float* row, int n) {
#pragma omp simd
  for (int i = 0; i < n; ++i) row[i] = sigmoid(row[i]);
}

inline float dot(const float* a, const float* b, int n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

CpuBackend::CpuBackend(const Config& c, const Weights& w, int threads) : cfg_(c), pw_(c, w), pool_(threads) {
  for (int i = 0; i < pool_.size(); ++i) ws_.push_back(std::make_unique<Workspace>(cfg_, pw_));
  userWs_ = std::make_unique<Workspace>(cfg_, pw_);
}

void CpuBackend::recordStage(Workspace& ws, int n, const int32_t* const* items, const int32_t* const* cats,
                             const int* len) {
  const int E = cfg_.embedWidth(), H = cfg_.hidden, dI = cfg_.dItem, dC = cfg_.dCat;
  int rows = 0;
  for (int j = 0; j < n; ++j) {
    ws.recOff[j] = rows;
    ws.recLen[j] = len[j];
    ws.recCats[j] = cats[j];
    rows += len[j];
  }
  // Embedding gather and the masked history sum s.
  for (int j = 0; j < n; ++j) {
    float* s = ws.sRec.data() + static_cast<size_t>(j) * E;
    std::fill(s, s + E, 0.0f);
    for (int t = 0; t < len[j]; ++t) {
      float* x = ws.X.data() + static_cast<size_t>(ws.recOff[j] + t) * E;
      std::memcpy(x, pw_.itemEmb + static_cast<size_t>(items[j][t]) * dI, sizeof(float) * dI);
      std::memcpy(x + dI, pw_.catEmb + static_cast<size_t>(cats[j][t]) * dC, sizeof(float) * dC);
      for (int k = 0; k < E; ++k) s[k] += x[k];
    }
  }
  if (rows == 0) return;
  const float* keys = ws.X.data();  // what attention scores: X for din, extractor or evolution states otherwise
  int kw = E;
  if (cfg_.hasGru()) {
    gemm(rows, ws.X.data(), E, pw_.extractor.wih, ws.GI.data(), ws.ldG, false);
    GruRun ext;
    ext.gru = &pw_.extractor;
    ext.cell = cfg_.gruCell;
    ext.n = n;
    ext.len = len;
    ext.gi = ws.GI.data();
    ext.ldGi = ws.ldG;
    ext.giRow = ws.recOff.data();
    ext.out = ws.Hs.data();
    ext.outRow = ws.recOff.data();
    ext.h = ws.h.data();
    ext.ldh = ws.ldH;
    runGru(ext, ws);
    // Evolution input projections (bias excluded: aigru scales W x, not b).
    gemm(rows, ws.Hs.data(), H, pw_.evolution.wih, ws.GI2.data(), ws.ldG, false);
    keys = ws.Hs.data();
    kw = H;
    if (cfg_.evolution == Evolution::GruAtt) {
      GruRun second = ext;
      second.gru = &pw_.evolution;
      second.gi = ws.GI2.data();
      second.out = ws.H2s.data();
      runGru(second, ws);
      keys = ws.H2s.data();
    }
  }
  if (!pw_.scorer.widths.empty()) gemm(rows, keys, kw, pw_.scorer.wk, ws.P.data(), ws.ldZ, false);
}

void CpuBackend::attention(const Workspace& rec, Workspace& ws, int n) {
  const int E = cfg_.embedWidth(), H = cfg_.hidden;
  const bool din = cfg_.model == ModelKind::Din;
  const float* keys = din ? rec.X.data() : (cfg_.evolution == Evolution::GruAtt ? rec.H2s.data() : rec.Hs.data());
  const int kw = din ? E : H;
  if (cfg_.attention == AttentionKind::Bilinear && !din) {
    gemm(n, ws.ea.data(), E, pw_.bilinear, ws.v.data(), ws.ldH, false);
    for (int j = 0; j < n; ++j) {
      const float* v = ws.v.data() + static_cast<size_t>(j) * ws.ldH;
      const int r0 = rec.recOff[ws.candRec[j]];
      for (int t = 0; t < ws.candLen[j]; ++t)
        ws.score[ws.candOff[j] + t] = dot(keys + static_cast<size_t>(r0 + t) * kw, v, kw);
    }
  } else {
    const PackedScorer& sc = pw_.scorer;
    // Query: e_a itself for din, PReLU(W_q e_a + b_q) for the GRU models.
    const float* q = ws.ea.data();
    int ldq = E;
    if (!din) {
      gemm(n, ws.ea.data(), E, pw_.query, ws.q.data(), ws.ldH, false);
      for (int j = 0; j < n; ++j) {
        float* qj = ws.q.data() + static_cast<size_t>(j) * ws.ldH;
        for (int k = 0; k < H; ++k) qj[k] = prelu(qj[k] + pw_.queryBias[k], pw_.querySlope[k]);
      }
      q = ws.q.data();
      ldq = ws.ldH;
    }
    gemm(n, q, ldq, sc.wq, ws.c.data(), ws.ldZ, false);
    int rows = 0;
    for (int j = 0; j < n; ++j) {
      float* cj = ws.c.data() + static_cast<size_t>(j) * ws.ldZ;
      addBias(cj, sc.b0, sc.firstWidth());
      const float* qj = q + static_cast<size_t>(j) * ldq;
      const int r0 = rec.recOff[ws.candRec[j]];
      for (int t = 0; t < ws.candLen[j]; ++t) {
        const int row = ws.candOff[j] + t;
        const float* kt = keys + static_cast<size_t>(r0 + t) * kw;
        float* qk = ws.Q.data() + static_cast<size_t>(row) * kw;
        for (int k = 0; k < kw; ++k) qk[k] = qj[k] * kt[k];
        const float* p = rec.P.data() + static_cast<size_t>(r0 + t) * ws.ldZ;
        float* z = ws.Z1.data() + static_cast<size_t>(row) * ws.ldZ;
        for (int k = 0; k < sc.wq.np; ++k) z[k] = p[k] + cj[k];
      }
      rows = std::max(rows, ws.candOff[j] + ws.candLen[j]);
    }
    if (rows > 0) gemm(rows, ws.Q.data(), kw, sc.wqk, ws.Z1.data(), ws.ldZ, true);
    if (sc.single()) {
      for (int r = 0; r < rows; ++r) ws.score[r] = ws.Z1[static_cast<size_t>(r) * ws.ldZ];
    } else {
      float* cur = ws.Z1.data();
      float* nxt = ws.Z2.data();
      for (size_t l = 0; l < sc.mid.size(); ++l) {
        for (int r = 0; r < rows; ++r) sigmoidRow(cur + static_cast<size_t>(r) * ws.ldZ, sc.widths[l]);
        gemm(rows, cur, ws.ldZ, sc.mid[l], nxt, ws.ldZ, false);
        for (int r = 0; r < rows; ++r) addBias(nxt + static_cast<size_t>(r) * ws.ldZ, sc.midBias[l], sc.widths[l + 1]);
        std::swap(cur, nxt);
      }
      const int last = sc.widths[sc.widths.size() - 2];
      for (int r = 0; r < rows; ++r) {
        float* z = cur + static_cast<size_t>(r) * ws.ldZ;
        sigmoidRow(z, last);
        ws.score[r] = dot(z, sc.wLast, last) + sc.bLast[0];
      }
    }
  }
  // Masked softmax over each sample's valid steps.
  for (int j = 0; j < n; ++j) {
    const int L = ws.candLen[j];
    if (L == 0) continue;
    const float* s = ws.score.data() + ws.candOff[j];
    float* a = ws.att.data() + ws.candOff[j];
    float mx = s[0];
    for (int t = 1; t < L; ++t) mx = std::max(mx, s[t]);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int t = 0; t < L; ++t) {
      a[t] = expApprox(s[t] - mx);
      sum += a[t];
    }
    const float inv = 1.0f / sum;
    for (int t = 0; t < L; ++t) a[t] *= inv;
  }
}

void CpuBackend::candidateStage(const Workspace& rec, Workspace& ws, int n, const Candidate* cands, float* out,
                                bool logits) {
  const int E = cfg_.embedWidth(), dI = cfg_.dItem, dC = cfg_.dCat;
  int rows = 0;
  for (int j = 0; j < n; ++j) {
    ws.candRec[j] = cands[j].rec;
    ws.candLen[j] = rec.recLen[cands[j].rec];
    ws.candOff[j] = rows;
    rows += ws.candLen[j];
    float* ea = ws.ea.data() + static_cast<size_t>(j) * E;
    std::memcpy(ea, pw_.itemEmb + static_cast<size_t>(cands[j].item) * dI, sizeof(float) * dI);
    std::memcpy(ea + dI, pw_.catEmb + static_cast<size_t>(cands[j].cat) * dC, sizeof(float) * dC);
  }
  const int width = cfg_.interestWidth();
  if (cfg_.hasAttention()) attention(rec, ws, n);
  if (cfg_.hasGru() && cfg_.evolution != Evolution::GruAtt) {
    GruRun evo;
    evo.gru = &pw_.evolution;
    evo.cell = cfg_.gruCell;
    evo.n = n;
    evo.len = ws.candLen.data();
    evo.gi = rec.GI2.data();
    evo.ldGi = rec.ldG;
    evo.att = ws.att.data();
    evo.attRow = ws.candOff.data();
    evo.scaleInput = cfg_.evolution == Evolution::Aigru;
    evo.mix = cfg_.evolution;
    evo.h = ws.h.data();
    evo.ldh = ws.ldH;
    // Rows of GI2 for candidate j start where its record starts.
    int recRow[kTile];
    for (int j = 0; j < n; ++j) recRow[j] = rec.recOff[ws.candRec[j]];
    evo.giRow = recRow;
    runGru(evo, ws);
    for (int j = 0; j < n; ++j)
      std::memcpy(ws.interest.data() + static_cast<size_t>(j) * width, ws.h.data() + static_cast<size_t>(j) * ws.ldH,
                  sizeof(float) * width);
  } else if (cfg_.hasAttention()) {  // din and gru-att: attention pooling
    const bool din = cfg_.model == ModelKind::Din;
    const float* keys = din ? rec.X.data() : rec.H2s.data();
    for (int j = 0; j < n; ++j) {
      float* out_j = ws.interest.data() + static_cast<size_t>(j) * width;
      std::fill(out_j, out_j + width, 0.0f);
      const int r0 = rec.recOff[ws.candRec[j]];
      const float* a = ws.att.data() + ws.candOff[j];
      for (int t = 0; t < ws.candLen[j]; ++t) {
        const float* k = keys + static_cast<size_t>(r0 + t) * width;
        for (int c = 0; c < width; ++c) out_j[c] += a[t] * k[c];
      }
    }
  }
  outputMlp(rec, ws, n, cands, out, logits);
}

void CpuBackend::outputMlp(const Workspace& rec, Workspace& ws, int n, const Candidate* cands, float* out,
                           bool logits) {
  const int E = cfg_.embedWidth(), dU = cfg_.dUser, dI = cfg_.dItem, width = cfg_.interestWidth();
  const PackedMlp& m = pw_.mlp;
  const int D = m.in;
  for (int j = 0; j < n; ++j) {
    float* x = ws.x.data() + static_cast<size_t>(j) * D;
    const float* ea = ws.ea.data() + static_cast<size_t>(j) * E;
    const float* s = rec.sRec.data() + static_cast<size_t>(ws.candRec[j]) * E;
    if (dU > 0) std::memcpy(x, pw_.userEmb + static_cast<size_t>(cands[j].user) * dU, sizeof(float) * dU);
    float* p = x + dU;
    std::memcpy(p, ea, sizeof(float) * E);
    std::memcpy(p + E, s, sizeof(float) * E);
    for (int k = 0; k < E; ++k) p[2 * E + k] = ea[k] * s[k];
    float* slot = p + 3 * E;
    if (cfg_.model == ModelKind::Pnn) {
      // Fields (user,) target item, target cat, sum of history items, sum of history cats.
      const float* f[5];
      int nf = 0;
      if (dU > 0) f[nf++] = x;
      f[nf++] = ea;
      f[nf++] = ea + dI;
      f[nf++] = s;
      f[nf++] = s + dI;
      int o = 0;
      for (int a = 0; a < nf; ++a)
        for (int b = a + 1; b < nf; ++b) slot[o++] = dot(f[a], f[b], dI);
    } else if (width > 0) {
      std::memcpy(slot, ws.interest.data() + static_cast<size_t>(j) * width, sizeof(float) * width);
    }
    if (!m.bnScale.empty())
      for (int k = 0; k < D; ++k) x[k] = x[k] * m.bnScale[k] + m.bnShift[k];
  }
  const float* cur = ws.x.data();
  int ld = D;
  float* bufs[2] = {ws.m1.data(), ws.m2.data()};
  int width_prev = D;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    float* dst = bufs[l % 2];
    gemm(n, cur, ld, m.layers[l], dst, ws.ldM, false);
    const int w = m.layers[l].n;
    for (int j = 0; j < n; ++j) {
      float* row = dst + static_cast<size_t>(j) * ws.ldM;
      const float* b = m.bias[l];
      switch (cfg_.activation) {
        case Activation::Dice: {
          const float *al = m.alpha[l], *mu = m.mean[l], *is = m.invStd[l].data();
#pragma omp simd
          for (int k = 0; k < w; ++k) row[k] = dice(row[k] + b[k], mu[k], is[k], al[k]);
          break;
        }
        case Activation::Prelu: {
          const float* sl = m.slope[l];
#pragma omp simd
          for (int k = 0; k < w; ++k) row[k] = prelu(row[k] + b[k], sl[k]);
          break;
        }
        case Activation::Relu:
          for (int k = 0; k < w; ++k) row[k] = std::max(row[k] + b[k], 0.0f);
          break;
      }
    }
    cur = dst;
    ld = ws.ldM;
    width_prev = w;
  }
  for (int j = 0; j < n; ++j) {
    float logit = dot(cur + static_cast<size_t>(j) * ld, m.wOut, width_prev) + m.bOut;
    if (pw_.wideItem) {
      const Candidate& c = cands[j];
      int hits = 0;
      const int32_t* hc = rec.recCats[c.rec];
      for (int t = 0; t < rec.recLen[c.rec]; ++t) hits += hc[t] == c.cat;
      logit += pw_.wideItem[c.item] + pw_.wideCat[c.cat] + pw_.wideCross[c.cat] * static_cast<float>(hits);
      if (pw_.wideUser) logit += pw_.wideUser[c.user];
    }
    out[cands[j].outIndex] = logits ? logit : probability(logit);
  }
}

void CpuBackend::predict(const BatchView& b, float* out, bool logits) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t B = b.batch, T = b.steps;
  if (B == 0) return;
  order_.resize(static_cast<size_t>(B));
  // Longest histories first: tiles then hold similar lengths and few steps idle.
  longestFirst(b.histLen, static_cast<size_t>(B), static_cast<int>(T), order_.data(), lengthCounts_);
  const int tiles = static_cast<int>((B + kTile - 1) / kTile);
  pool_.run(tiles, [&](int tile, int worker) {
    Workspace& ws = *ws_[worker];
    const int start = tile * kTile;
    const int n = static_cast<int>(std::min<int64_t>(kTile, B - start));
    const int32_t* items[kTile];
    const int32_t* cats[kTile];
    int len[kTile];
    Candidate cands[kTile];
    for (int j = 0; j < n; ++j) {
      const int idx = order_[start + j];
      items[j] = b.histItem + static_cast<size_t>(idx) * T;
      cats[j] = b.histCat + static_cast<size_t>(idx) * T;
      len[j] = b.histLen[idx];
      cands[j] = Candidate{j, b.targetItem[idx], b.targetCat[idx], b.user ? b.user[idx] : -1, idx};
    }
    recordStage(ws, n, items, cats, len);
    candidateStage(ws, ws, n, cands, out, logits);
  });
}

void CpuBackend::scoreCandidates(const CandidatesView& v, float* out, bool logits) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (v.count == 0) return;
  const int32_t* items[1] = {v.histItem};
  const int32_t* cats[1] = {v.histCat};
  const int len[1] = {static_cast<int>(v.length)};
  recordStage(*userWs_, 1, items, cats, len);  // the extractor runs once for this user
  const int tiles = static_cast<int>((v.count + kTile - 1) / kTile);
  pool_.run(tiles, [&](int tile, int worker) {
    const int start = tile * kTile;
    const int n = static_cast<int>(std::min<int64_t>(kTile, v.count - start));
    Candidate cands[kTile];
    for (int j = 0; j < n; ++j) cands[j] = Candidate{0, v.items[start + j], v.cats[start + j], v.user, start + j};
    candidateStage(*userWs_, *ws_[worker], n, cands, out, logits);
  });
}

}  // namespace dien
