// A stack of fully connected layers over many rows with a sigmoid after every layer
// but the last, which has one output: the attention scorers (docs/model.md §5, din) and
// the aux net (§8). Forward keeps every layer's output for the backward pass.
#pragma once

#include <vector>

#include "../ops/gate_grads.h"
#include "dense.h"
#include "net.h"

namespace dien {
namespace train {

template <class S>
struct StackWork {
  std::vector<std::vector<S>> out;  // out[l]: [rows, layers[l].out]
  std::vector<S> d0, d1;            // backward scratch, [rows, widest]
  void reserve(const std::vector<Layer<S>>& layers, int rows) {
    out.resize(layers.size());
    size_t widest = 1;
    for (size_t l = 0; l < layers.size(); ++l) {
      out[l].resize(static_cast<size_t>(rows) * layers[l].out + kSlack);
      widest = std::max<size_t>(widest, static_cast<size_t>(std::max(layers[l].in, layers[l].out)));
    }
    d0.resize(widest * rows);
    d1.resize(widest * rows);
  }
  const S* scores() const { return out.back().data(); }
};

// from = 1: layer 0's activated output is already in w.out[0] (a split first layer).
template <class S>
void stackForward(const std::vector<Layer<S>>& layers, int rows, const S* in, int ldIn, StackWork<S>& w,
                  size_t from = 0) {
  const S* x = from ? w.out[from - 1].data() : in;
  int ld = from ? layers[from - 1].out : ldIn;
  for (size_t l = from; l < layers.size(); ++l) {
    const Layer<S>& L = layers[l];
    S* y = w.out[l].data();
    gemmNN(rows, L.out, L.in, x, ld, L.wt.data(), L.ldT, y, L.out, L.b, false);
    if (l + 1 < layers.size()) {
      const size_t n = static_cast<size_t>(rows) * L.out;
#pragma omp simd
      for (size_t i = 0; i < n; ++i) y[i] = Act<S>::sigmoid(y[i]);
    }
    x = y;
    ld = L.out;
  }
}

// dScore: [rows] gradient at the scores. Adds the gradients of layers stop.. into grad (the
// dense buffer) and, when dIn is given, writes the gradient at the input of layer stop:
// stop = 0, the input rows ([rows, in0]); stop = 1, layer 0's pre-activation ([rows, out0]).
template <class S>
void stackBackward(const std::vector<Layer<S>>& layers, int rows, const S* in, int ldIn, StackWork<S>& w,
                   const S* dScore, S* grad, S* dIn, size_t stop = 0) {
  const S* d = dScore;
  for (size_t l = layers.size(); l-- > stop;) {
    const Layer<S>& L = layers[l];
    const S* x = l ? w.out[l - 1].data() : in;
    const int ldx = l ? layers[l - 1].out : ldIn;
    gemmTN(rows, L.out, L.in, d, L.out, x, ldx, grad + L.gw, L.in);
    addRows(rows, L.out, d, L.out, grad + L.gb);
    if (l == stop && !dIn) break;
    S* dx = l == stop ? dIn : (d == w.d0.data() ? w.d1.data() : w.d0.data());
    gemmNN(rows, L.in, L.out, d, L.out, L.wp.data(), L.ldP, dx, L.in, static_cast<const S*>(nullptr), false);
    if (l) {
      const size_t n = static_cast<size_t>(rows) * L.in;
      const S* y = w.out[l - 1].data();
#pragma omp simd
      for (size_t i = 0; i < n; ++i) dx[i] *= sigmoidGrad(y[i]);
    }
    d = dx;
  }
}

}  // namespace train
}  // namespace dien
