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
// Weight copies are padded to whole vectors (dense.h, kLanes) for gemmNN's B operand.
template <class S>
struct Layer {
  int in = 0, out = 0;
  const S* w = nullptr;  // [out, in] as stored
  const S* b = nullptr;
  std::vector<S> wt;  // [in, ldT]: W^T, for the forward product
  std::vector<S> wp;  // [out, ldP]: W, for the product back to the input
  int ldT = 0, ldP = 0;
  size_t gw = 0, gb = 0;  // offsets of dW, db in the dense gradient buffer
};

// The first scorer layer on [q, k, q - k, q o k] (W0 = [Wa Wb Wc Wd], each [out, kw])
// split as (Wa + Wc) q + (Wb - Wc) k + Wd (q o k): the q term is one product per sample
// and each history row costs 2 kw x out instead of 4 kw x out (model/derived.h, inference).
template <class S>
struct SplitFirstLayer {
  int kw = 0, out = 0;
  int ldT = 0, ldP = 0;
  std::vector<S> wq, wk, wd;     // [out, ldP]: Wa + Wc, Wb - Wc, Wd
  std::vector<S> wqT, wkT, wdT;  // [kw, ldT]
};

template <class S>
struct GruParams {
  int in = 0, H = 0;
  const S *wih = nullptr, *whh = nullptr, *bih = nullptr, *bhh = nullptr;
  // W_ih^T [in, ldG]; W_hh^T [H, ldHT] (wide enough for the n block read at column 2H);
  // W_ih [3H, ldIn], W_hh [3H, ldH] for the products back to x and h.
  std::vector<S> wihT, whhT, wihP, whhP;
  int ldG = 0, ldHT = 0, ldIn = 0, ldH = 0;
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
  std::vector<S> bilinearP;     // [H, ldBilinear]
  int ldBilinear = 0;
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
