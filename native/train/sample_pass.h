// The per-sample part of a training pass: everything up to the output network's input
// row x (docs/model.md §3-6, §10), the aux loss (§8), and their backward. Samples are
// independent here, so they run in parallel; only the output network (head_pass.h)
// couples a batch, through batch-norm and Dice statistics.
#pragma once

#include <cstdint>
#include <vector>

#include "gru_pass.h"
#include "mlp_stack.h"
#include "net.h"

namespace dien {
namespace train {

struct SampleInput {
  int L = 0;
  const int32_t *histItem = nullptr, *histCat = nullptr;  // [>= L]
  const int32_t *negItem = nullptr, *negCat = nullptr;    // [>= L], or null without aux
  int32_t targetItem = 0, targetCat = 0, user = -1;
};

// Where a sample's gradients at its embedding rows go ([L, E], [L, E], [E], [dUser]).
template <class S>
struct SampleEmbeddingGrads {
  S *hist = nullptr, *neg = nullptr, *target = nullptr, *user = nullptr;
};

template <class S>
struct SampleWork {
  int T = 0;
  // forward
  std::vector<S> X, NX, ea, ue, s, qpre, q, v, scores, att, interest, QK, c0, G;
  GruCache<S> ext, evo;
  StackWork<S> scorer, aux;
  std::vector<S> auxIn;
  // backward
  std::vector<S> dHs, dG, dKeys, dV, dAtt, dq, dInterest, dea, ds, dAuxIn, dAuxScore;

  SampleWork(const Net<S>& net, int T);
};

// Forward of one sample; writes its output-network input row x [D].
template <class S>
void sampleForward(const Net<S>& net, const SampleInput& in, SampleWork<S>& w, S* x);

// Backward of the sample whose forward ran last on w, from dx = dLoss/dx [D]. With the
// aux net on (and negatives given), also runs the aux loss of its pairs, each pair's
// term scaled by auxScale = auxAlpha / (pairs in the batch); returns that sample's
// unscaled sum of pair losses. Adds the dense gradients into grad.
template <class S>
double sampleBackward(const Net<S>& net, const SampleInput& in, SampleWork<S>& w, const S* dx, S auxScale, S* grad,
                      const SampleEmbeddingGrads<S>& out);

}  // namespace train
}  // namespace dien
