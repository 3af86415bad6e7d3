#include "head_pass.h"

#include <cmath>

#include "../ops/gate_grads.h"
#include "dense.h"

namespace dien {
namespace train {

namespace {

// Biased batch statistics of the columns of x [B, n]; xhat = (x - mean) * invStd.
template <class S>
void batchStats(int B, int n, const S* x, S eps, S* mean, S* var, S* invStd, S* xhat) {
  for (int j = 0; j < n; ++j) mean[j] = var[j] = 0;
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j) mean[j] += x[static_cast<size_t>(b) * n + j];
  for (int j = 0; j < n; ++j) mean[j] /= static_cast<S>(B);
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j) {
      const S d = x[static_cast<size_t>(b) * n + j] - mean[j];
      var[j] += d * d;
    }
  for (int j = 0; j < n; ++j) {
    var[j] /= static_cast<S>(B);
    invStd[j] = S(1) / std::sqrt(var[j] + eps);
  }
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < n; ++j)
      xhat[static_cast<size_t>(b) * n + j] = (x[static_cast<size_t>(b) * n + j] - mean[j]) * invStd[j];
}

// dx (+)= d xhat / dx applied to dXhat, through the batch mean and variance:
//   dx = invStd / B * (B dXhat - sum_b dXhat - xhat * sum_b dXhat xhat)
template <class S>
void batchStatsBackward(int B, int n, const S* xhat, const S* invStd, const S* dXhat, S* dx, bool accumulate) {
  for (int j = 0; j < n; ++j) {
    S sum = 0, sumX = 0;
    for (int b = 0; b < B; ++b) {
      const size_t i = static_cast<size_t>(b) * n + j;
      sum += dXhat[i];
      sumX += dXhat[i] * xhat[i];
    }
    const S k = invStd[j] / static_cast<S>(B);
    for (int b = 0; b < B; ++b) {
      const size_t i = static_cast<size_t>(b) * n + j;
      const S v = k * (static_cast<S>(B) * dXhat[i] - sum - xhat[i] * sumX);
      dx[i] = accumulate ? dx[i] + v : v;
    }
  }
}

}  // namespace

template <class S>
void HeadWork<S>::reserve(const Net<S>& net, int B_) {
  B = B_;
  const size_t b = static_cast<size_t>(B);
  const int D = net.D;
  if (net.bnGamma) {
    bnXhat.resize(b * D);
    bnOut.resize(b * D);
    bnMean.resize(D);
    bnVar.resize(D);
    bnInvStd.resize(D);
  }
  const size_t layers = net.mlp.size() - 1;
  for (auto* v : {&in, &pre, &p, &xhat, &mean, &var, &invStd}) v->resize(layers);
  size_t widest = static_cast<size_t>(D);
  for (size_t l = 0; l < layers; ++l) {
    const int w = net.mlp[l].out;
    widest = std::max(widest, static_cast<size_t>(w));
    pre[l].resize(b * w);
    if (net.c.activation == Activation::Dice) {
      p[l].resize(b * w);
      xhat[l].resize(b * w);
      mean[l].resize(w);
      var[l].resize(w);
      invStd[l].resize(w);
    }
  }
  for (size_t l = 0; l < layers; ++l) in[l].resize(b * net.mlp[l].in + kSlack);
  last.resize(b * net.mlp.back().in + kSlack);
  d0.resize(b * widest);
  d1.resize(b * widest);
  dXhat.resize(b * widest);
}

template <class S>
void headForward(const Net<S>& net, int B, const S* x, HeadWork<S>& w, S* logits) {
  const int D = net.D;
  const S* h = x;
  if (net.bnGamma) {
    batchStats(B, D, x, static_cast<S>(net.c.bnEps), w.bnMean.data(), w.bnVar.data(), w.bnInvStd.data(),
               w.bnXhat.data());
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < D; ++j) {
        const size_t i = static_cast<size_t>(b) * D + j;
        w.bnOut[i] = net.bnGamma[j] * w.bnXhat[i] + net.bnBeta[j];
      }
    h = w.bnOut.data();
  }
  const size_t layers = net.mlp.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    const Layer<S>& L = net.mlp[l];
    std::copy(h, h + static_cast<size_t>(B) * L.in, w.in[l].begin());
    S* pre = w.pre[l].data();
    gemmNN(B, L.out, L.in, h, L.in, L.wt.data(), L.ldT, pre, L.out, L.b, false);
    S* y = l + 1 < layers ? w.in[l + 1].data() : w.last.data();
    const size_t n = static_cast<size_t>(B) * L.out;
    switch (net.c.activation) {
      case Activation::Dice: {
        batchStats(B, L.out, pre, static_cast<S>(net.c.diceEps), w.mean[l].data(), w.var[l].data(), w.invStd[l].data(),
                   w.xhat[l].data());
        const S* alpha = net.actParam[l];
        for (size_t i = 0; i < n; ++i) {
          const S p = Act<S>::sigmoid(w.xhat[l][i]);
          w.p[l][i] = p;
          const S a = alpha[i % L.out];
          y[i] = pre[i] * (a + p * (S(1) - a));
        }
        break;
      }
      case Activation::Prelu:
        for (size_t i = 0; i < n; ++i) y[i] = pre[i] >= S(0) ? pre[i] : net.actParam[l][i % L.out] * pre[i];
        break;
      default:
        for (size_t i = 0; i < n; ++i) y[i] = pre[i] > S(0) ? pre[i] : S(0);
    }
    h = y;
  }
  if (layers == 0) std::copy(h, h + static_cast<size_t>(B) * D, w.last.begin());
  const Layer<S>& out = net.mlp.back();
  gemmNN(B, 1, out.in, w.last.data(), out.in, out.wt.data(), out.ldT, logits, 1, out.b, false);
}

template <class S>
void headBackward(const Net<S>& net, int B, HeadWork<S>& w, const S* dLogit, S* grad, S* dx) {
  const int D = net.D;
  const Layer<S>& out = net.mlp.back();
  gemmTN(B, 1, out.in, dLogit, 1, w.last.data(), out.in, grad + out.gw, out.in);
  addRows(B, 1, dLogit, 1, grad + out.gb);
  const size_t layers = net.mlp.size() - 1;
  const bool bn = net.bnGamma != nullptr;
  // dh: gradient at the current layer's output; the first layer's input gradient goes
  // to dx directly unless batch norm sits in front of it.
  S* dh = layers == 0 && !bn ? dx : w.d0.data();
  gemmNN(B, out.in, 1, dLogit, 1, out.wp.data(), out.ldP, dh, out.in, static_cast<const S*>(nullptr), false);
  for (size_t l = layers; l-- > 0;) {
    const Layer<S>& L = net.mlp[l];
    const size_t n = static_cast<size_t>(B) * L.out;
    const S* pre = w.pre[l].data();
    S* dpre = dh;  // in place
    switch (net.c.activation) {
      case Activation::Dice: {
        S* dAlpha = grad + net.gActParam[l];
        const S* alpha = net.actParam[l];
        for (size_t i = 0; i < n; ++i) {
          const int j = static_cast<int>(i % L.out);
          const DiceGrad<S> g = diceGrad(pre[i], w.p[l][i], alpha[j], dh[i]);
          dAlpha[j] += g.dAlpha;
          dpre[i] = g.dx;
          w.dXhat[i] = g.dXhat;
        }
        batchStatsBackward(B, L.out, w.xhat[l].data(), w.invStd[l].data(), w.dXhat.data(), dpre, true);
        break;
      }
      case Activation::Prelu: {
        S* dSlope = grad + net.gActParam[l];
        for (size_t i = 0; i < n; ++i) {
          const int j = static_cast<int>(i % L.out);
          const PreluGrad<S> g = preluGrad(pre[i], net.actParam[l][j], dh[i]);
          dSlope[j] += g.dSlope;
          dpre[i] = g.dx;
        }
        break;
      }
      default:
        for (size_t i = 0; i < n; ++i) dpre[i] = pre[i] > S(0) ? dh[i] : S(0);
    }
    gemmTN(B, L.out, L.in, dpre, L.out, w.in[l].data(), L.in, grad + L.gw, L.in);
    addRows(B, L.out, dpre, L.out, grad + L.gb);
    S* next = l == 0 && !bn ? dx : (dh == w.d0.data() ? w.d1.data() : w.d0.data());
    gemmNN(B, L.in, L.out, dpre, L.out, L.wp.data(), L.ldP, next, L.in, static_cast<const S*>(nullptr), false);
    dh = next;
  }
  if (bn) {
    S* dGamma = grad + net.gBnGamma;
    S* dBeta = grad + net.gBnBeta;
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < D; ++j) {
        const size_t i = static_cast<size_t>(b) * D + j;
        dGamma[j] += dh[i] * w.bnXhat[i];
        dBeta[j] += dh[i];
        w.dXhat[i] = dh[i] * net.bnGamma[j];
      }
    batchStatsBackward(B, D, w.bnXhat.data(), w.bnInvStd.data(), w.dXhat.data(), dx, false);
  }
}

template struct HeadWork<float>;
template struct HeadWork<double>;
template void headForward(const Net<float>&, int, const float*, HeadWork<float>&, float*);
template void headForward(const Net<double>&, int, const double*, HeadWork<double>&, double*);
template void headBackward(const Net<float>&, int, HeadWork<float>&, const float*, float*, float*);
template void headBackward(const Net<double>&, int, HeadWork<double>&, const double*, double*, double*);

}  // namespace train
}  // namespace dien
