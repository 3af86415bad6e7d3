#include "attention.h"

#include <algorithm>

#include "gemm.h"
#include "row_ops.h"

namespace dien {

namespace {

bool isDin(const Config& c) { return c.model == ModelKind::Din; }

// Masked softmax over each candidate's valid steps (max-subtracted).
void maskedSoftmax(Workspace& ws, int n) {
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

// s_t = h_t . (W_a e_a)
void bilinearScores(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n) {
  const int E = c.embedWidth(), H = c.hidden;
  const float* keys = attentionKeys(c, rec);
  gemm(n, ws.ea.data(), E, pw.bilinear, ws.v.data(), ws.ldH, false);
  for (int j = 0; j < n; ++j) {
    const float* v = ws.v.data() + static_cast<size_t>(j) * ws.ldH;
    const int r0 = rec.recOff[ws.candRec[j]];
    for (int t = 0; t < ws.candLen[j]; ++t)
      ws.score[ws.candOff[j] + t] = dot(keys + static_cast<size_t>(r0 + t) * H, v, H);
  }
}

// The scorer's layers for `rows` rows whose q*k terms are in Q and first-layer sums
// (key half, query half, bias) in Z1, from the first row of each: scores into score.
void scoreBlock(const PackedScorer& sc, Workspace& ws, int rows, float* score) {
  const int kw = sc.kw;
  gemm(rows, ws.Q.data(), kw, sc.wqk, ws.Z1.data(), ws.ldZ, true);
  if (sc.single()) {
    for (int r = 0; r < rows; ++r) score[r] = ws.Z1[static_cast<size_t>(r) * ws.ldZ];
    return;
  }
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
    score[r] = dot(z, sc.wLast, last) + sc.bLast[0];
  }
}

// s_t = MLP([q, k_t, q - k_t, q * k_t]) with the first layer split (packed_weights.h).
void mlpScores(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n) {
  const int E = c.embedWidth(), H = c.hidden;
  const bool din = isDin(c);
  const float* keys = attentionKeys(c, rec);
  const int kw = din ? E : H;
  const PackedScorer& sc = pw.scorer;
  // Query: e_a itself for din, PReLU(W_q e_a + b_q) for the GRU models.
  const float* q = ws.ea.data();
  int ldq = E;
  if (!din) {
    gemm(n, ws.ea.data(), E, pw.query, ws.q.data(), ws.ldH, false);
    for (int j = 0; j < n; ++j) {
      float* qj = ws.q.data() + static_cast<size_t>(j) * ws.ldH;
      for (int k = 0; k < H; ++k) qj[k] = prelu(qj[k] + pw.queryBias[k], pw.querySlope[k]);
    }
    q = ws.q.data();
    ldq = ws.ldH;
  }
  gemm(n, q, ldq, sc.wq, ws.c.data(), ws.ldZ, false);
  for (int j = 0; j < n; ++j) addBias(ws.c.data() + static_cast<size_t>(j) * ws.ldZ, sc.b0, sc.firstWidth());
  // The rows of all candidates' steps go through the scorer in blocks of kScoreBlock,
  // each block's layers back to back at the start of Q, Z1 and Z2: a tile's rows would
  // be megabytes per layer, streamed from memory once per layer, where a block stays in
  // the core's cache from its first layer to its score.
  int fill = 0, done = 0;
  auto flush = [&] {
    scoreBlock(sc, ws, fill, ws.score.data() + done);
    done += fill;
    fill = 0;
  };
  for (int j = 0; j < n; ++j) {
    const float* cj = ws.c.data() + static_cast<size_t>(j) * ws.ldZ;
    const float* qj = q + static_cast<size_t>(j) * ldq;
    const int r0 = rec.recOff[ws.candRec[j]];
    for (int t = 0; t < ws.candLen[j]; ++t) {
      const float* kt = keys + static_cast<size_t>(r0 + t) * kw;
      float* qk = ws.Q.data() + static_cast<size_t>(fill) * kw;
      for (int k = 0; k < kw; ++k) qk[k] = qj[k] * kt[k];
      const float* p = rec.P.data() + static_cast<size_t>(r0 + t) * ws.ldZ;
      float* z = ws.Z1.data() + static_cast<size_t>(fill) * ws.ldZ;
      for (int k = 0; k < sc.wq.np; ++k) z[k] = p[k] + cj[k];
      if (++fill == kScoreBlock) flush();
    }
  }
  if (fill > 0) flush();
}

}  // namespace

const float* attentionKeys(const Config& c, const Workspace& rec) {
  if (isDin(c)) return rec.X.data();
  return c.evolution == Evolution::GruAtt ? rec.H2s.data() : rec.Hs.data();
}

void attentionWeights(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n) {
  if (c.attention == AttentionKind::Bilinear && !isDin(c))
    bilinearScores(c, pw, rec, ws, n);
  else
    mlpScores(c, pw, rec, ws, n);
  maskedSoftmax(ws, n);
}

void attentionPool(const Config& c, const Workspace& rec, Workspace& ws, int n) {
  const float* keys = attentionKeys(c, rec);
  const int width = c.interestWidth();
  for (int j = 0; j < n; ++j) {
    float* out = ws.interest.data() + static_cast<size_t>(j) * width;
    std::fill(out, out + width, 0.0f);
    const int r0 = rec.recOff[ws.candRec[j]];
    const float* a = ws.att.data() + ws.candOff[j];
    for (int t = 0; t < ws.candLen[j]; ++t) {
      const float* k = keys + static_cast<size_t>(r0 + t) * width;
      for (int i = 0; i < width; ++i) out[i] += a[t] * k[i];
    }
  }
}

}  // namespace dien
