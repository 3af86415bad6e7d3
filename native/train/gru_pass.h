// One GRU (docs/model.md §4, §6) over one sample's L valid steps, forward with the
// values its backward pass needs, and backward through time. Padded steps are never
// touched: the cost is O(L), and the gates are the gates.h / gate_grads.h formulas.
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "../ops/gate_grads.h"
#include "dense.h"
#include "net.h"

namespace dien {
namespace train {

template <class S>
struct GruCache {
  int H = 0;
  std::vector<S> xin;                         // [T, in]: the input actually read (aigru: a_t h_t)
  std::vector<S> gi, gh;                      // [T, 3H]: W_ih x + b_ih; W_hh h + b_hh (reset-before: n part on r o h)
  std::vector<S> r, z, n, out, rh;            // [T, H]; rh = r o h_prev (reset-before)
  std::vector<S> dgi, dgh, dx, dh, dhp, drh;  // backward
  void reserve(int T, int in, int H_) {
    H = H_;
    const size_t t = static_cast<size_t>(std::max(T, 1));
    // the products' B operands (xin, out, rh) end with kSlack spare elements (dense.h)
    xin.resize(t * in + kSlack);
    gi.resize(t * 3 * H);
    gh.resize(t * 3 * H);
    for (auto* v : {&r, &z, &n, &out, &rh}) v->resize(t * H + kSlack);
    dgi.resize(t * 3 * H);
    dgh.resize(t * 3 * H);
    dx.resize(t * in);
    dh.resize(H);
    dhp.resize(H);
    drh.resize(H);
  }
};

// Forward over x [L, in] (row stride ldx). att: a_t per step, or null for a plain GRU;
// mix picks how n and h combine (GruAtt: the plain step). aigru scales the input by a_t.
template <class S>
void gruForward(const GruParams<S>& g, GruCell cell, Evolution mix, int L, const S* x, int ldx, const S* att,
                GruCache<S>& k) {
  const int H = g.H, in = g.in;
  const bool scale = mix == Evolution::Aigru;
  for (int t = 0; t < L; ++t) {
    S* xi = k.xin.data() + static_cast<size_t>(t) * in;
    const S* src = x + static_cast<size_t>(t) * ldx;
    const S s = scale ? att[t] : S(1);
    for (int c = 0; c < in; ++c) xi[c] = s * src[c];
  }
  if (L == 0) return;
  gemmNN(L, 3 * H, in, k.xin.data(), in, g.wihT.data(), g.ldG, k.gi.data(), 3 * H, g.bih, false);
  std::vector<S>& hpZero = k.dhp;  // a zero initial state (dhp is backward scratch)
  std::fill(hpZero.begin(), hpZero.end(), S(0));
  for (int t = 0; t < L; ++t) {
    const S* hp = t ? k.out.data() + static_cast<size_t>(t - 1) * H : hpZero.data();
    const S* gi = k.gi.data() + static_cast<size_t>(t) * 3 * H;
    S* gh = k.gh.data() + static_cast<size_t>(t) * 3 * H;
    S* r = k.r.data() + static_cast<size_t>(t) * H;
    S* z = k.z.data() + static_cast<size_t>(t) * H;
    S* n = k.n.data() + static_cast<size_t>(t) * H;
    S* h = k.out.data() + static_cast<size_t>(t) * H;
    const S a = att ? att[t] : S(0);
    if (cell == GruCell::ResetAfter) {
      gemmNN(1, 3 * H, H, hp, H, g.whhT.data(), g.ldHT, gh, 3 * H, g.bhh, false);
#pragma omp simd
      for (int c = 0; c < H; ++c) {
        r[c] = Act<S>::sigmoid(gi[c] + gh[c]);
        z[c] = Act<S>::sigmoid(gi[H + c] + gh[H + c]);
        n[c] = Act<S>::tanh(gi[2 * H + c] + r[c] * gh[2 * H + c]);
      }
    } else {
      S* rh = k.rh.data() + static_cast<size_t>(t) * H;
      gemmNN(1, 2 * H, H, hp, H, g.whhT.data(), g.ldHT, gh, 3 * H, g.bhh, false);
#pragma omp simd
      for (int c = 0; c < H; ++c) {
        r[c] = Act<S>::sigmoid(gi[c] + gh[c]);
        z[c] = Act<S>::sigmoid(gi[H + c] + gh[H + c]);
        rh[c] = r[c] * hp[c];
      }
      gemmNN(1, H, H, rh, H, g.whhT.data() + 2 * H, g.ldHT, gh + 2 * H, 3 * H, g.bhh + 2 * H, false);
#pragma omp simd
      for (int c = 0; c < H; ++c) n[c] = Act<S>::tanh(gi[2 * H + c] + gh[2 * H + c]);
    }
#pragma omp simd
    for (int c = 0; c < H; ++c) h[c] = evolveState(mix, a, z[c], n[c], hp[c]);
  }
}

// Backward: dOut [L, H] is the gradient arriving at every step's output from outside
// (may be null), dFinal the gradient at the last state (may be null). Adds the weight
// gradients into grad; writes the gradient at the input into k.dx ([L, in], before the
// aigru scaling is undone: the caller applies it) and adds dL/da_t into dAtt (if given).
template <class S>
void gruBackward(const GruParams<S>& g, GruCell cell, Evolution mix, int L, const S* att, const S* dOut,
                 const S* dFinal, S* grad, S* dAtt, GruCache<S>& k) {
  const int H = g.H, in = g.in;
  if (L == 0) return;
  S* dh = k.dh.data();
  S* dhp = k.dhp.data();
  if (dFinal)
    std::memcpy(dh, dFinal, sizeof(S) * H);
  else
    std::fill(dh, dh + H, S(0));
  for (int t = L - 1; t >= 0; --t) {
    if (dOut)
      for (int c = 0; c < H; ++c) dh[c] += dOut[static_cast<size_t>(t) * H + c];
    const S* hp = t ? k.out.data() + static_cast<size_t>(t - 1) * H : nullptr;
    const S* gh = k.gh.data() + static_cast<size_t>(t) * 3 * H;
    const S* r = k.r.data() + static_cast<size_t>(t) * H;
    const S* z = k.z.data() + static_cast<size_t>(t) * H;
    const S* n = k.n.data() + static_cast<size_t>(t) * H;
    S* dgi = k.dgi.data() + static_cast<size_t>(t) * 3 * H;
    S* dgh = k.dgh.data() + static_cast<size_t>(t) * 3 * H;
    const S a = att ? att[t] : S(0);
    S da = 0;
#pragma omp simd reduction(+ : da)
    for (int c = 0; c < H; ++c) {
      const S hc = hp ? hp[c] : S(0);
      const MixGrad<S> m = evolveStateGrad(mix, a, z[c], n[c], hc, dh[c]);
      const GateGrad<S> gg = gruGateGrad(cell, r[c], z[c], n[c], gh[2 * H + c], m.dn, m.dz);
      dgi[c] = dgh[c] = gg.dPreR;
      dgi[H + c] = dgh[H + c] = gg.dPreZ;
      dgi[2 * H + c] = gg.dPreN;
      dgh[2 * H + c] = gg.dGhN;
      dhp[c] = m.dh;
      da += m.da;
    }
    if (cell == GruCell::ResetBefore) {
      // gh_n = W_hn (r o h_prev) + b_hn: back through W_hn, then through r and h_prev.
      S* drh = k.drh.data();
      gemmNN(1, H, H, dgh + 2 * H, 3 * H, g.whhP.data() + static_cast<size_t>(2) * H * g.ldH, g.ldH, drh, H,
             static_cast<const S*>(nullptr), false);
#pragma omp simd
      for (int c = 0; c < H; ++c) {
        const S hc = hp ? hp[c] : S(0);
        const S dPreR = drh[c] * hc * sigmoidGrad(r[c]);
        dgi[c] = dgh[c] = dPreR;
        dhp[c] += drh[c] * r[c];
      }
      gemmNN(1, H, 2 * H, dgh, 3 * H, g.whhP.data(), g.ldH, dhp, H, static_cast<const S*>(nullptr), true);
    } else {
      gemmNN(1, H, 3 * H, dgh, 3 * H, g.whhP.data(), g.ldH, dhp, H, static_cast<const S*>(nullptr), true);
    }
    if (dAtt) dAtt[t] += da;
    std::swap(dh, dhp);
  }
  // Weight gradients for all steps at once. Step 0 read h_prev = 0: it adds nothing to W_hh.
  S* dWhh = grad + g.gwhh;
  if (cell == GruCell::ResetAfter) {
    gemmTN(L - 1, 3 * H, H, k.dgh.data() + 3 * H, 3 * H, k.out.data(), H, dWhh, H);
  } else {
    gemmTN(L - 1, 2 * H, H, k.dgh.data() + 3 * H, 3 * H, k.out.data(), H, dWhh, H);
    gemmTN(L, H, H, k.dgh.data() + 2 * H, 3 * H, k.rh.data(), H, dWhh + static_cast<size_t>(2) * H * H, H);
  }
  addRows(L, 3 * H, k.dgh.data(), 3 * H, grad + g.gbhh);
  addRows(L, 3 * H, k.dgi.data(), 3 * H, grad + g.gbih);
  gemmTN(L, 3 * H, in, k.dgi.data(), 3 * H, k.xin.data(), in, grad + g.gwih, in);
  gemmNN(L, in, 3 * H, k.dgi.data(), 3 * H, g.wihP.data(), g.ldIn, k.dx.data(), in, static_cast<const S*>(nullptr),
         false);
}

}  // namespace train
}  // namespace dien
