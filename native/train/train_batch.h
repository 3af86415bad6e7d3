// The inputs of one training call (docs/model.md §2): a batch plus labels and, when the
// aux net is on, one sampled negative behaviour per position (§8).
#pragma once

#include <cstdint>
#include <vector>

#include "../model/batch.h"

namespace dien {

struct TrainBatchView {
  BatchView base;
  const float* label = nullptr;      // [B], 0 or 1
  const int32_t* negItem = nullptr;  // [B, T]; required when auxAlpha > 0 on a GRU model
  const int32_t* negCat = nullptr;
  size_t nLabel = 0, nNegItem = 0, nNegCat = 0;
  // Rocket Launching's hint (docs/model.md §11): the loss gains λ · mean_b (logit_b −
  // hint_b)², λ = hintWeight, the hint a constant (the gradient block).
  const float* hint = nullptr;  // [B]
  size_t nHint = 0;
  double hintWeight = 0;
};

struct TrainBatchData {
  BatchData base;
  std::vector<float> label;
  std::vector<int32_t> negItem, negCat;
  TrainBatchView view() const;
};

// Whether this config reads negatives (a GRU model with the aux net on).
bool needsNegatives(const Config& c);

// Everything validateBatch checks, plus labels (0 or 1), negatives (present exactly when
// needed, ids in range at the positions read) and the hint (finite, one per sample, with
// a finite hintWeight >= 0). Throws InputError naming field, index, value.
void validateTrainBatch(const Config& c, const TrainBatchView& b);

}  // namespace dien
