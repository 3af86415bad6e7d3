#include "sample_pass.h"

#include <algorithm>
#include <cstring>

namespace dien {
namespace train {

namespace {

template <class S>
void zero(std::vector<S>& v, size_t n) {
  std::fill(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), S(0));
}

template <class S>
void embedRow(const Net<S>& net, int32_t item, int32_t cat, S* dst) {
  const int dI = net.c.dItem, dC = net.c.dCat;
  std::copy(net.item + static_cast<size_t>(item) * dI, net.item + static_cast<size_t>(item + 1) * dI, dst);
  std::copy(net.cat + static_cast<size_t>(cat) * dC, net.cat + static_cast<size_t>(cat + 1) * dC, dst + dI);
}

// Width of the keys attention reads: extractor / evolution states, or din's embeddings.
template <class S>
int keyWidth(const Net<S>& net) {
  return net.c.hasGru() ? net.H : net.c.model == ModelKind::Din ? net.E : 0;
}

// Scores and masked softmax (docs/model.md §5) over keys [L, kw]; the query is e_a.
template <class S>
void attentionForward(const Net<S>& net, const S* keys, int kw, int L, SampleWork<S>& w) {
  if (L == 0) return;
  const int E = net.E;
  S* scores = w.scores.data();
  if (net.bilinear) {  // s_t = k_t . (W_a e_a)
    for (int h = 0; h < kw; ++h) w.v[h] = dot(E, net.bilinear + static_cast<size_t>(h) * E, w.ea.data());
    for (int t = 0; t < L; ++t) scores[t] = dot(kw, keys + static_cast<size_t>(t) * kw, w.v.data());
  } else {
    S* q = w.q.data();
    if (net.c.hasGru()) {
      gemmNN(1, kw, E, w.ea.data(), E, net.query.wt.data(), net.query.ldT, w.qpre.data(), kw, net.query.b, false);
      for (int h = 0; h < kw; ++h) q[h] = w.qpre[h] >= S(0) ? w.qpre[h] : net.querySlope[h] * w.qpre[h];
    } else {
      std::copy(w.ea.begin(), w.ea.begin() + kw, q);
    }
    // First layer, split (net.h): c0 = (Wa + Wc) q + b0 once, then (Wb - Wc) k + Wd (q o k) per row.
    const SplitFirstLayer<S>& sp = net.split;
    gemmNN(1, sp.out, kw, q, kw, sp.wqT.data(), sp.ldT, w.c0.data(), sp.out, net.scorer[0].b, false);
    for (int t = 0; t < L; ++t) {
      const S* k = keys + static_cast<size_t>(t) * kw;
      S* qk = w.QK.data() + static_cast<size_t>(t) * kw;
      for (int j = 0; j < kw; ++j) qk[j] = q[j] * k[j];
    }
    S* z0 = w.scorer.out[0].data();
    gemmNN(L, sp.out, kw, keys, kw, sp.wkT.data(), sp.ldT, z0, sp.out, w.c0.data(), false);
    gemmNN(L, sp.out, kw, w.QK.data(), kw, sp.wdT.data(), sp.ldT, z0, sp.out, static_cast<const S*>(nullptr), true);
    if (net.scorer.size() > 1) {
      const size_t n = static_cast<size_t>(L) * sp.out;
#pragma omp simd
      for (size_t i = 0; i < n; ++i) z0[i] = Act<S>::sigmoid(z0[i]);
      stackForward(net.scorer, L, static_cast<const S*>(nullptr), 0, w.scorer, 1);
    }
    std::copy(w.scorer.scores(), w.scorer.scores() + L, scores);
  }
  S mx = scores[0];
  for (int t = 1; t < L; ++t) mx = std::max(mx, scores[t]);
  S sum = 0;
  for (int t = 0; t < L; ++t) sum += w.att[t] = Act<S>::exp(scores[t] - mx);
  for (int t = 0; t < L; ++t) w.att[t] /= sum;
}

// From w.dAtt (dLoss/da_t): writes dKeys [L, kw], adds into dea and grad.
template <class S>
void attentionBackward(const Net<S>& net, const S* keys, int kw, int L, SampleWork<S>& w, S* grad) {
  if (L == 0) return;
  const int E = net.E;
  S* dScore = w.scores.data();  // the scores are not needed any more
  S sum = 0;
  for (int t = 0; t < L; ++t) sum += w.att[t] * w.dAtt[t];
  for (int t = 0; t < L; ++t) dScore[t] = w.att[t] * (w.dAtt[t] - sum);
  S* dKeys = w.dKeys.data();
  if (net.bilinear) {
    S* dv = w.dq.data();
    std::fill(dv, dv + kw, S(0));
    for (int t = 0; t < L; ++t)
      for (int h = 0; h < kw; ++h) {
        dKeys[static_cast<size_t>(t) * kw + h] = dScore[t] * w.v[h];
        dv[h] += dScore[t] * keys[static_cast<size_t>(t) * kw + h];
      }
    gemmTN(1, kw, E, dv, kw, w.ea.data(), E, grad + net.gBilinear, E);
    gemmNN(1, E, kw, dv, kw, net.bilinearP.data(), net.ldBilinear, w.dea.data(), E, static_cast<const S*>(nullptr),
           true);
    return;
  }
  // Back to layer 0's pre-activation, then through the split first layer by hand.
  const SplitFirstLayer<S>& sp = net.split;
  const int out0 = sp.out;
  const S* dPre = dScore;  // a single-layer scorer: the score is layer 0's output
  if (net.scorer.size() > 1) {
    stackBackward(net.scorer, L, static_cast<const S*>(nullptr), 0, w.scorer, dScore, grad, w.dV.data(), 1);
    dPre = w.dV.data();
  }
  const Layer<S>& first = net.scorer[0];
  S* dW0 = grad + first.gw;  // [out0, 4 kw] = [dWa dWb dWc dWd]
  S* s0 = w.c0.data();       // sum over rows of dPre
  std::fill(s0, s0 + out0, S(0));
  addRows(L, out0, dPre, out0, s0);
  addRows(1, out0, s0, out0, grad + first.gb);
  S* gk = w.G.data();  // dPre^T K
  std::fill(gk, gk + static_cast<size_t>(out0) * kw, S(0));
  gemmTN(L, out0, kw, dPre, out0, keys, kw, gk, kw);
  gemmTN(L, out0, kw, dPre, out0, w.QK.data(), kw, dW0 + 3 * kw, 4 * kw);
  const S* q = w.q.data();
  for (int o = 0; o < out0; ++o) {
    S* row = dW0 + static_cast<size_t>(o) * 4 * kw;
    const S* g = gk + static_cast<size_t>(o) * kw;
    for (int j = 0; j < kw; ++j) {
      row[j] += s0[o] * q[j];
      row[kw + j] += g[j];
      row[2 * kw + j] += s0[o] * q[j] - g[j];
    }
  }
  // dk = (Wb - Wc)^T dPre + q o (Wd^T dPre); dq = (Wa + Wc)^T s0 + sum_t k_t o (Wd^T dPre_t)
  S* td = w.dV.data() + static_cast<size_t>(L) * out0;  // [L, kw] after dPre
  gemmNN(L, kw, out0, dPre, out0, sp.wk.data(), sp.ldP, dKeys, kw, static_cast<const S*>(nullptr), false);
  gemmNN(L, kw, out0, dPre, out0, sp.wd.data(), sp.ldP, td, kw, static_cast<const S*>(nullptr), false);
  S* dq = w.dq.data();
  gemmNN(1, kw, out0, s0, out0, sp.wq.data(), sp.ldP, dq, kw, static_cast<const S*>(nullptr), false);
  for (int t = 0; t < L; ++t) {
    const S* k = keys + static_cast<size_t>(t) * kw;
    const S* tt = td + static_cast<size_t>(t) * kw;
    S* dk = dKeys + static_cast<size_t>(t) * kw;
    for (int j = 0; j < kw; ++j) {
      dk[j] += q[j] * tt[j];
      dq[j] += k[j] * tt[j];
    }
  }
  if (!net.c.hasGru()) {  // din: the query is e_a itself
    for (int j = 0; j < kw; ++j) w.dea[j] += dq[j];
    return;
  }
  S* dpre = w.dq.data();  // in place: dq -> dLoss/d(W_q e_a + b_q)
  S* dSlope = grad + net.gQuerySlope;
  for (int h = 0; h < kw; ++h) {
    const PreluGrad<S> g = preluGrad(w.qpre[h], net.querySlope[h], dq[h]);
    dSlope[h] += g.dSlope;
    dpre[h] = g.dx;
  }
  gemmTN(1, kw, E, dpre, kw, w.ea.data(), E, grad + net.query.gw, E);
  addRows(1, kw, dpre, kw, grad + net.query.gb);
  gemmNN(1, E, kw, dpre, kw, net.query.wp.data(), net.query.ldP, w.dea.data(), E, static_cast<const S*>(nullptr), true);
}

// The aux loss of one sample's pairs (docs/model.md §8) and its backward: adds into
// w.dHs, out.hist, out.neg and grad. Returns the unscaled sum of the pairs' losses.
template <class S>
double auxPass(const Net<S>& net, const SampleInput& in, SampleWork<S>& w, S auxScale, S* grad,
               const SampleEmbeddingGrads<S>& out) {
  const int E = net.E, H = net.H, L = in.L, P = L - 1;
  if (P <= 0) return 0;
  for (int t = 1; t < L; ++t) embedRow(net, in.negItem[t], in.negCat[t], w.NX.data() + static_cast<size_t>(t) * E);
  const S* hs = w.ext.out.data();
  double loss = 0;
  S* dScore = w.dAuxScore.data();
  auto score = [&](int pair, S s, bool positive) {
    // BCE from the logit: softplus(-s) for a positive, softplus(s) for a negative.
    const double sd = static_cast<double>(s);
    loss += positive ? softplus(-sd) : softplus(sd);
    dScore[pair] = auxScale * (Act<S>::sigmoid(s) - (positive ? S(1) : S(0)));
  };
  if (net.aux.empty()) {  // dot: score = h_t . e
    for (int t = 0; t < P; ++t) {
      const S* h = hs + static_cast<size_t>(t) * H;
      const S* pos = w.X.data() + static_cast<size_t>(t + 1) * E;
      const S* neg = w.NX.data() + static_cast<size_t>(t + 1) * E;
      score(2 * t, dot(H, h, pos), true);
      score(2 * t + 1, dot(H, h, neg), false);
      S* dh = w.dHs.data() + static_cast<size_t>(t) * H;
      S* dpos = out.hist + static_cast<size_t>(t + 1) * E;
      S* dneg = out.neg + static_cast<size_t>(t + 1) * E;
      for (int j = 0; j < H; ++j) {
        dh[j] += dScore[2 * t] * pos[j] + dScore[2 * t + 1] * neg[j];
        dpos[j] += dScore[2 * t] * h[j];
        dneg[j] += dScore[2 * t + 1] * h[j];
      }
    }
    return loss;
  }
  const int W = H + E;
  for (int t = 0; t < P; ++t) {
    S* rp = w.auxIn.data() + static_cast<size_t>(2 * t) * W;
    S* rn = rp + W;
    std::copy(hs + static_cast<size_t>(t) * H, hs + static_cast<size_t>(t + 1) * H, rp);
    std::copy(hs + static_cast<size_t>(t) * H, hs + static_cast<size_t>(t + 1) * H, rn);
    std::copy(w.X.data() + static_cast<size_t>(t + 1) * E, w.X.data() + static_cast<size_t>(t + 2) * E, rp + H);
    std::copy(w.NX.data() + static_cast<size_t>(t + 1) * E, w.NX.data() + static_cast<size_t>(t + 2) * E, rn + H);
  }
  stackForward(net.aux, 2 * P, w.auxIn.data(), W, w.aux);
  const S* s = w.aux.scores();
  for (int t = 0; t < P; ++t) {
    score(2 * t, s[2 * t], true);
    score(2 * t + 1, s[2 * t + 1], false);
  }
  stackBackward(net.aux, 2 * P, w.auxIn.data(), W, w.aux, dScore, grad, w.dAuxIn.data());
  for (int t = 0; t < P; ++t) {
    const S* dp = w.dAuxIn.data() + static_cast<size_t>(2 * t) * W;
    const S* dn = dp + W;
    S* dh = w.dHs.data() + static_cast<size_t>(t) * H;
    for (int j = 0; j < H; ++j) dh[j] += dp[j] + dn[j];
    S* dpos = out.hist + static_cast<size_t>(t + 1) * E;
    S* dneg = out.neg + static_cast<size_t>(t + 1) * E;
    for (int j = 0; j < E; ++j) {
      dpos[j] += dp[H + j];
      dneg[j] += dn[H + j];
    }
  }
  return loss;
}

// pnn's fields (docs/model.md §10) of values v and of gradients d, in product order.
template <class S>
int pnnFields(const Net<S>& net, S* ue, S* ea, S* s, const S** f, S** df, S* du, S* dea, S* ds) {
  const int d = net.c.dItem;
  int n = 0;
  if (net.c.hasUser()) {
    f[n] = ue;
    df[n++] = du;
  }
  S* vals[4] = {ea, ea + d, s, s + d};
  S* grads[4] = {dea, dea + d, ds, ds + d};
  for (int i = 0; i < 4; ++i) {
    f[n] = vals[i];
    df[n++] = grads[i];
  }
  return n;
}

}  // namespace

template <class S>
SampleWork<S>::SampleWork(const Net<S>& net, int T_) : T(T_) {
  const int E = net.E, H = net.H, kw = keyWidth(net);
  const size_t t = static_cast<size_t>(std::max(T, 1));
  // B operands of the weight-gradient products end with kSlack spare elements (dense.h)
  X.resize(t * E + kSlack);
  NX.resize(t * E);
  ea.resize(E + kSlack);
  ue.resize(std::max(net.c.dUser, 1));
  s.resize(E);
  qpre.resize(std::max(H, 1));
  q.resize(std::max(kw, 1));
  v.resize(std::max(H, 1));
  scores.resize(t);
  att.resize(t);
  interest.resize(std::max(net.c.interestWidth(), 1));
  QK.resize(t * std::max(kw, 1) + kSlack);
  c0.resize(net.scorer.empty() ? 1 : static_cast<size_t>(net.split.out));
  G.resize(net.scorer.empty() ? 1 : static_cast<size_t>(net.split.out) * kw);
  if (net.c.hasGru()) {
    ext.reserve(T, E, H);
    evo.reserve(T, H, H);
  }
  if (!net.scorer.empty()) scorer.reserve(net.scorer, T);
  if (!net.aux.empty()) {
    aux.reserve(net.aux, 2 * T);
    auxIn.resize(2 * t * (H + E) + kSlack);
    dAuxIn.resize(2 * t * (H + E));
  }
  dAuxScore.resize(2 * t);
  dHs.resize(t * std::max(H, 1));
  dG.resize(t * std::max(H, 1));
  dKeys.resize(t * std::max(kw, 1));
  // layer 0's pre-activation gradient, then Wd^T of it
  dV.resize(t * (net.scorer.empty() ? 1 : static_cast<size_t>(net.split.out) + kw));
  dAtt.resize(t);
  dq.resize(std::max({kw, E, 1}));
  dInterest.resize(interest.size());
  dea.resize(E);
  ds.resize(E);
}

template <class S>
void sampleForward(const Net<S>& net, const SampleInput& in, SampleWork<S>& w, S* x) {
  const Config& c = net.c;
  const int E = net.E, H = net.H, L = in.L;
  for (int t = 0; t < L; ++t) embedRow(net, in.histItem[t], in.histCat[t], w.X.data() + static_cast<size_t>(t) * E);
  embedRow(net, in.targetItem, in.targetCat, w.ea.data());
  if (c.hasUser())
    std::copy(net.user + static_cast<size_t>(in.user) * c.dUser, net.user + static_cast<size_t>(in.user + 1) * c.dUser,
              w.ue.data());
  zero(w.s, E);
  for (int t = 0; t < L; ++t)
    for (int j = 0; j < E; ++j) w.s[j] += w.X[static_cast<size_t>(t) * E + j];
  const int width = c.interestWidth();
  zero(w.interest, w.interest.size());
  if (c.hasGru()) {
    gruForward(net.ext, c.gruCell, Evolution::GruAtt, L, w.X.data(), E, static_cast<const S*>(nullptr), w.ext);
    if (c.evolution == Evolution::GruAtt) {
      gruForward(net.evo, c.gruCell, Evolution::GruAtt, L, w.ext.out.data(), H, static_cast<const S*>(nullptr), w.evo);
      attentionForward(net, w.evo.out.data(), H, L, w);
      for (int t = 0; t < L; ++t)
        for (int j = 0; j < H; ++j) w.interest[j] += w.att[t] * w.evo.out[static_cast<size_t>(t) * H + j];
    } else {
      attentionForward(net, w.ext.out.data(), H, L, w);
      gruForward(net.evo, c.gruCell, c.evolution, L, w.ext.out.data(), H, w.att.data(), w.evo);
      if (L > 0)
        std::copy(w.evo.out.begin() + static_cast<size_t>(L - 1) * H, w.evo.out.begin() + L * H, w.interest.begin());
    }
  } else if (c.model == ModelKind::Din) {
    attentionForward(net, w.X.data(), E, L, w);
    for (int t = 0; t < L; ++t)
      for (int j = 0; j < E; ++j) w.interest[j] += w.att[t] * w.X[static_cast<size_t>(t) * E + j];
  } else if (c.model == ModelKind::Pnn) {
    const S* f[5];
    S* df[5];
    const int n = pnnFields(net, w.ue.data(), w.ea.data(), w.s.data(), f, df, w.ue.data(), w.ea.data(), w.s.data());
    int p = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j) w.interest[p++] = dot(c.dItem, f[i], f[j]);
  }
  S* o = x;
  if (c.hasUser()) o = std::copy(w.ue.begin(), w.ue.begin() + c.dUser, o);
  o = std::copy(w.ea.begin(), w.ea.begin() + E, o);
  o = std::copy(w.s.begin(), w.s.end(), o);
  for (int j = 0; j < E; ++j) *o++ = w.ea[j] * w.s[j];
  std::copy(w.interest.begin(), w.interest.begin() + width, o);
}

template <class S>
double sampleBackward(const Net<S>& net, const SampleInput& in, SampleWork<S>& w, const S* dx, S auxScale, S* grad,
                      const SampleEmbeddingGrads<S>& out) {
  const Config& c = net.c;
  const int E = net.E, H = net.H, L = in.L, dU = c.dUser;
  std::fill(out.hist, out.hist + static_cast<size_t>(L) * E, S(0));
  if (out.neg) std::fill(out.neg, out.neg + static_cast<size_t>(L) * E, S(0));
  // x = [user, e_a, s, e_a o s, interest]
  const S* dxEa = dx + dU;
  const S* dxS = dxEa + E;
  const S* dxP = dxS + E;
  const S* dxI = dxP + E;
  if (c.hasUser()) std::copy(dx, dx + dU, out.user);
  for (int j = 0; j < E; ++j) {
    w.dea[j] = dxEa[j] + dxP[j] * w.s[j];
    w.ds[j] = dxS[j] + dxP[j] * w.ea[j];
  }
  double auxLoss = 0;
  if (c.hasGru()) {
    zero(w.dHs, static_cast<size_t>(L) * H);
    zero(w.dAtt, L);
    if (c.evolution == Evolution::GruAtt) {
      for (int t = 0; t < L; ++t) {
        const S* g = w.evo.out.data() + static_cast<size_t>(t) * H;
        w.dAtt[t] = dot(H, dxI, g);
        for (int j = 0; j < H; ++j) w.dG[static_cast<size_t>(t) * H + j] = w.att[t] * dxI[j];
      }
      attentionBackward(net, w.evo.out.data(), H, L, w, grad);
      for (size_t i = 0; i < static_cast<size_t>(L) * H; ++i) w.dG[i] += w.dKeys[i];
      gruBackward(net.evo, c.gruCell, Evolution::GruAtt, L, static_cast<const S*>(nullptr), w.dG.data(),
                  static_cast<const S*>(nullptr), grad, static_cast<S*>(nullptr), w.evo);
      for (size_t i = 0; i < static_cast<size_t>(L) * H; ++i) w.dHs[i] += w.evo.dx[i];
    } else {
      gruBackward(net.evo, c.gruCell, c.evolution, L, w.att.data(), static_cast<const S*>(nullptr), dxI, grad,
                  w.dAtt.data(), w.evo);
      const bool aigru = c.evolution == Evolution::Aigru;
      for (int t = 0; t < L; ++t) {
        const S* dxin = w.evo.dx.data() + static_cast<size_t>(t) * H;
        S* dh = w.dHs.data() + static_cast<size_t>(t) * H;
        if (aigru) {  // the input was a_t h_t
          w.dAtt[t] += dot(H, dxin, w.ext.out.data() + static_cast<size_t>(t) * H);
          for (int j = 0; j < H; ++j) dh[j] += w.att[t] * dxin[j];
        } else {
          for (int j = 0; j < H; ++j) dh[j] += dxin[j];
        }
      }
      attentionBackward(net, w.ext.out.data(), H, L, w, grad);
      for (size_t i = 0; i < static_cast<size_t>(L) * H; ++i) w.dHs[i] += w.dKeys[i];
    }
    if (net.auxOn && in.negItem) auxLoss = auxPass(net, in, w, auxScale, grad, out);
    gruBackward(net.ext, c.gruCell, Evolution::GruAtt, L, static_cast<const S*>(nullptr), w.dHs.data(),
                static_cast<const S*>(nullptr), grad, static_cast<S*>(nullptr), w.ext);
    for (size_t i = 0; i < static_cast<size_t>(L) * E; ++i) out.hist[i] += w.ext.dx[i];
  } else if (c.model == ModelKind::Din) {
    zero(w.dAtt, L);
    for (int t = 0; t < L; ++t) {
      const S* e = w.X.data() + static_cast<size_t>(t) * E;
      w.dAtt[t] = dot(E, dxI, e);
      for (int j = 0; j < E; ++j) out.hist[static_cast<size_t>(t) * E + j] += w.att[t] * dxI[j];
    }
    attentionBackward(net, w.X.data(), E, L, w, grad);
    for (size_t i = 0; i < static_cast<size_t>(L) * E; ++i) out.hist[i] += w.dKeys[i];
  } else if (c.model == ModelKind::Pnn) {
    const S* f[5];
    S* df[5];
    const int n = pnnFields(net, w.ue.data(), w.ea.data(), w.s.data(), f, df, out.user, w.dea.data(), w.ds.data());
    int p = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j, ++p)
        for (int k = 0; k < c.dItem; ++k) {
          df[i][k] += dxI[p] * f[j][k];
          df[j][k] += dxI[p] * f[i][k];
        }
  }
  // s = sum of the valid rows
  for (int t = 0; t < L; ++t)
    for (int j = 0; j < E; ++j) out.hist[static_cast<size_t>(t) * E + j] += w.ds[j];
  std::copy(w.dea.begin(), w.dea.end(), out.target);
  return auxLoss;
}

template struct SampleWork<float>;
template struct SampleWork<double>;
template void sampleForward(const Net<float>&, const SampleInput&, SampleWork<float>&, float*);
template void sampleForward(const Net<double>&, const SampleInput&, SampleWork<double>&, double*);
template double sampleBackward(const Net<float>&, const SampleInput&, SampleWork<float>&, const float*, float, float*,
                               const SampleEmbeddingGrads<float>&);
template double sampleBackward(const Net<double>&, const SampleInput&, SampleWork<double>&, const double*, double,
                               double*, const SampleEmbeddingGrads<double>&);

}  // namespace train
}  // namespace dien
