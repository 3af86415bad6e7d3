// The model's parameters resolved once per training call into plain pointers (and the
// transposed copies the forward products read), plus the matching gradient pointers
// into one dense gradient buffer. The per-sample and batch passes read only these.
#pragma once

#include <vector>

#include "../model/config.h"
#include "layout.h"

namespace dien {
namespace train {

// One fully connected layer y = W x + b, W [out, in] as PyTorch stores it.
template <class S>
struct Layer {
  int in = 0, out = 0;
  const S* w = nullptr;  // [out, in]
  const S* b = nullptr;
  std::vector<S> wt;      // [in, out]: forward products read rows of it
  size_t gw = 0, gb = 0;  // offsets of dW, db in the dense gradient buffer
};

// The first scorer layer on [q, k, q - k, q o k] (W0 = [Wa Wb Wc Wd], each [out, kw])
// split as (Wa + Wc) q + (Wb - Wc) k + Wd (q o k): the q term is one product per sample
// and each history row costs 2 kw x out instead of 4 kw x out (model/derived.h, inference).
template <class S>
struct SplitFirstLayer {
  int kw = 0, out = 0;
  std::vector<S> wq, wk;         // [out, kw]: Wa + Wc, Wb - Wc
  std::vector<S> wqT, wkT, wdT;  // [kw, out]
};

template <class S>
struct GruParams {
  int in = 0, H = 0;
  const S *wih = nullptr, *whh = nullptr, *bih = nullptr, *bhh = nullptr;
  std::vector<S> wihT, whhT;  // [in, 3H], [H, 3H]
  size_t gwih = 0, gwhh = 0, gbih = 0, gbhh = 0;
};

template <class S>
struct Net {
  Config c;
  int E = 0, H = 0, D = 0;  // embedding width, hidden, output-MLP input width
  const S *item = nullptr, *cat = nullptr, *user = nullptr;
  GruParams<S> ext, evo;
  // attention of the GRU models
  const S* bilinear = nullptr;  // [H, E]
  size_t gBilinear = 0;
  Layer<S> query;  // [H, E]
  const S* querySlope = nullptr;
  size_t gQuerySlope = 0;
  std::vector<Layer<S>> scorer;  // attention.mlp or din.mlp
  SplitFirstLayer<S> split;      // scorer[0], split
  std::vector<Layer<S>> aux;     // aux.layers (mlp aux net)
  bool auxOn = false;
  // output network
  const S *bnGamma = nullptr, *bnBeta = nullptr;
  size_t gBnGamma = 0, gBnBeta = 0;
  std::vector<Layer<S>> mlp;       // hidden layers, then mlp.out
  std::vector<const S*> actParam;  // dice alpha or prelu slope per hidden layer
  std::vector<size_t> gActParam;
  const S *wideItem = nullptr, *wideCat = nullptr, *wideCross = nullptr, *wideUser = nullptr;

  Net(const Config& cfg, const Params<S>& p, const GradLayout& gl);
};

}  // namespace train
}  // namespace dien
