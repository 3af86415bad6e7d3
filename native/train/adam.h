// Adam on a model's weights (docs/model.md §9): the options, one step's constants, the
// element update and the running-statistics update, shared by Trainer (one model) and
// RocketTrainer (a booster and a light net updated together, §11).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "../model/weights.h"
#include "backprop.h"

namespace dien {

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double embeddingL2 = 0;  // adds embeddingL2 * row to the gradient of every embedding row read
  double clipNorm = 0;     // > 0: scale the whole gradient down to this global L2 norm
  double lrDecay = 1;      // lr *= lrDecay at every endEpoch() (the original code halves it)
  void validate() const;   // throws InputError naming the option
};

// The options by name, in one list: the bindings, checkpoints and info() all read it.
using AdamField = std::pair<const char*, double AdamOptions::*>;
inline constexpr AdamField kAdamFields[] = {
    {"lr", &AdamOptions::lr},
    {"beta1", &AdamOptions::beta1},
    {"beta2", &AdamOptions::beta2},
    {"eps", &AdamOptions::eps},
    {"embeddingL2", &AdamOptions::embeddingL2},
    {"clipNorm", &AdamOptions::clipNorm},
    {"lrDecay", &AdamOptions::lrDecay},
};

namespace train {

inline bool isEmbedding(TensorKind k) {
  return k == TensorKind::ItemEmbedding || k == TensorKind::CatEmbedding || k == TensorKind::UserEmbedding;
}

// The constants of step number `step` (1-based) at learning rate lr: PyTorch's
// formulation with the bias corrections folded in.
struct AdamStep {
  float stepSize, sqrtBc2, b1, b2, eps;
  AdamStep(const AdamOptions& o, double lr, int64_t step)
      : stepSize(static_cast<float>(lr / (1.0 - std::pow(o.beta1, static_cast<double>(step))))),
        sqrtBc2(static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, static_cast<double>(step))))),
        b1(static_cast<float>(o.beta1)),
        b2(static_cast<float>(o.beta2)),
        eps(static_cast<float>(o.eps)) {}
};

// One Adam update of n values. The gradient is scale * (g + l2 * w): L2 (embedding rows
// only) and clipping applied here.
inline void adam(size_t n, float* w, float* m, float* v, const float* g, float scale, float l2, const AdamStep& k) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float gi = (g[i] + l2 * w[i]) * scale;
    m[i] = k.b1 * m[i] + (1.0f - k.b1) * gi;
    v[i] = k.b2 * v[i] + (1.0f - k.b2) * gi * gi;
    w[i] -= k.stepSize * m[i] / (std::sqrt(v[i]) / k.sqrtBc2 + k.eps);
  }
}

// The squared L2 norm of n gradient values, each plus l2 * its weight (w null: no L2).
inline double squares(size_t n, const float* g, const float* w, float l2) {
  double sq = 0;
  for (size_t i = 0; i < n; ++i) {
    const double gi = g[i] + (w ? l2 * w[i] : 0.0f);
    sq += gi * gi;
  }
  return sq;
}

// The squared L2 norm of a pass's whole gradient: dense tensors and table rows, each
// embedding row read plus l2 * its weights (the gradient an update applies).
// embeddings = false leaves the embedding rows out (a gradient that is not applied).
double gradientSquares(const PassResult<float>& r, const Weights& w, float l2, bool embeddings = true);

// The clipping factor for a global gradient norm (1 when clipping is off or not needed).
inline float clipScale(const AdamOptions& o, double norm) {
  return o.clipNorm > 0 && norm > o.clipNorm ? static_cast<float>(o.clipNorm / norm) : 1.0f;
}

// Running statistics: r <- 0.99 r + 0.01 batch (docs/model.md §7).
void updateRunningStats(const PassResult<float>& r, Weights& w);

}  // namespace train
}  // namespace dien
