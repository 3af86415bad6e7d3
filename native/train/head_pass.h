// The output network of docs/model.md §7 over a whole batch in training mode: batch
// norm and Dice use the biased batch statistics, and gradients flow through the
// statistics. This is the only part of a training pass that couples samples.
#pragma once

#include <vector>

#include "net.h"

namespace dien {
namespace train {

template <class S>
struct HeadWork {
  int B = 0;
  std::vector<S> bnXhat, bnOut, bnMean, bnVar, bnInvStd;
  // per hidden layer: input (layer 0: x or bn output), pre-activation, Dice p and xhat
  std::vector<std::vector<S>> in, pre, p, xhat, mean, var, invStd;
  std::vector<S> last;  // input of mlp.out
  std::vector<S> d0, d1, dXhat;
  void reserve(const Net<S>& net, int B);
};

// logits[b] = the output network's logit for row b of x [B, D] (no wide part).
template <class S>
void headForward(const Net<S>& net, int B, const S* x, HeadWork<S>& w, S* logits);

// From dLogit [B]: adds dense gradients into grad and writes dx [B, D].
template <class S>
void headBackward(const Net<S>& net, int B, HeadWork<S>& w, const S* dLogit, S* grad, S* dx);

}  // namespace train
}  // namespace dien
