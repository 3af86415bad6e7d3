#include "output_mlp.h"

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "row_ops.h"

namespace dien {

namespace {

// x of candidate j, batch norm folded in (docs/model.md §7).
void buildInput(const Config& c, const PackedWeights& pw, const Workspace& rec, const Workspace& ws, int j,
                const Candidate& cand, float* x) {
  const int E = c.embedWidth(), dU = c.dUser, dI = c.dItem, width = c.interestWidth();
  const PackedMlp& m = pw.mlp;
  const float* ea = ws.ea.data() + static_cast<size_t>(j) * E;
  const float* s = rec.sRec.data() + static_cast<size_t>(ws.candRec[j]) * E;
  if (dU > 0) pw.userEmb.row(cand.user, x);
  float* p = x + dU;
  std::memcpy(p, ea, sizeof(float) * E);
  std::memcpy(p + E, s, sizeof(float) * E);
  for (int k = 0; k < E; ++k) p[2 * E + k] = ea[k] * s[k];
  float* slot = p + 3 * E;
  if (c.model == ModelKind::Pnn) {
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
    for (int k = 0; k < m.in; ++k) x[k] = x[k] * m.bnScale[k] + m.bnShift[k];
}

void activate(const Config& c, const PackedMlp& m, size_t l, float* row) {
  const int w = m.layers[l].n;
  const float* b = m.bias[l];
  switch (c.activation) {
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

// wide-deep's wide logit (docs/model.md §10).
float wideLogit(const PackedWeights& pw, const Workspace& rec, const Candidate& cand) {
  int hits = 0;
  const int32_t* hc = rec.recCats[cand.rec];
  for (int t = 0; t < rec.recLen[cand.rec]; ++t) hits += hc[t] == cand.cat;
  float logit =
      pw.wideItem.at(cand.item) + pw.wideCat.at(cand.cat) + pw.wideCross.at(cand.cat) * static_cast<float>(hits);
  if (pw.wideUser) logit += pw.wideUser.at(cand.user);
  return logit;
}

}  // namespace

void outputMlp(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n,
               const Candidate* cands, float* out) {
  const PackedMlp& m = pw.mlp;
  for (int j = 0; j < n; ++j) buildInput(c, pw, rec, ws, j, cands[j], ws.x.data() + static_cast<size_t>(j) * m.in);
  const float* cur = ws.x.data();
  int ld = m.in, width = m.in;
  float* bufs[2] = {ws.m1.data(), ws.m2.data()};
  for (size_t l = 0; l < m.layers.size(); ++l) {
    float* dst = bufs[l % 2];
    gemm(n, cur, ld, m.layers[l], dst, ws.ldM, false);
    for (int j = 0; j < n; ++j) activate(c, m, l, dst + static_cast<size_t>(j) * ws.ldM);
    cur = dst;
    ld = ws.ldM;
    width = m.layers[l].n;
  }
  for (int j = 0; j < n; ++j) {
    float logit = dot(cur + static_cast<size_t>(j) * ld, m.wOut, width) + m.bOut;
    if (pw.wideItem) logit += wideLogit(pw, rec, cands[j]);
    out[cands[j].outIndex] = logit;
  }
}

}  // namespace dien
