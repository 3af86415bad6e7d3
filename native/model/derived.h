// Values derived once at load time from the file's tensors. Every backend takes them
// from here, so the CPU and CUDA paths fold the same numbers in the same way.
#pragma once

#include <vector>

#include "config.h"
#include "weights.h"

namespace dien {

// The first scorer layer on [q, k, q - k, q * k] (w0: [a1, 4 kw]) split algebraically:
//   W0 x = (W_a + W_c) q + (W_b - W_c) k + W_d (q * k)
// Each matrix is [a1][kw], as PyTorch lays out a weight.
struct SplitScorerLayer {
  std::vector<float> q, k, qk;
};
SplitScorerLayer splitScorerLayer(const float* w0, int a1, int kw);

// mlp.bn at inference as x * scale + shift; both empty without mlpBn.
struct FoldedBatchNorm {
  std::vector<float> scale, shift;
};
FoldedBatchNorm foldBatchNorm(const Config& c, const Weights& w);

// 1 / sqrt(running_var + diceEps) of Dice layer `layer` of the output MLP.
std::vector<float> diceInvStd(const Config& c, const Weights& w, size_t layer);

}  // namespace dien
