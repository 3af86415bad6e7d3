#include "train_batch.h"

#include <cmath>

#include "../common/errors.h"

namespace dien {

TrainBatchView TrainBatchData::view() const {
  TrainBatchView v;
  v.base = base.view();
  v.label = label.data();
  v.nLabel = label.size();
  if (!negItem.empty() || !negCat.empty()) {
    v.negItem = negItem.data();
    v.nNegItem = negItem.size();
    v.negCat = negCat.data();
    v.nNegCat = negCat.size();
  }
  return v;
}

bool needsNegatives(const Config& c) { return c.hasGru() && c.auxAlpha > 0; }

void validateTrainBatch(const Config& c, const TrainBatchView& v) {
  const BatchView& b = v.base;
  validateBatch(c, b);
  // The loss is a mean over samples: an empty batch has none.
  if (b.batch == 0) throw InputError("batch size: a training batch needs at least one sample");
  if (static_cast<int64_t>(v.nLabel) != b.batch)
    throw InputError(cat("label: expected ", b.batch, " elements but got ", v.nLabel));
  for (int64_t i = 0; i < b.batch; ++i)
    if (!(v.label[i] == 0.0f || v.label[i] == 1.0f))
      throw InputError(cat("label[", i, "]: expected 0 or 1 but got ", v.label[i]));
  if (!(std::isfinite(v.hintWeight) && v.hintWeight >= 0))
    throw InputError(cat("hintWeight: expected a finite number >= 0 but got ", v.hintWeight));
  if (v.hintWeight > 0 || v.hint) {
    if (!v.hint || static_cast<int64_t>(v.nHint) != b.batch)
      throw InputError(cat("hint: expected ", b.batch, " elements but got ", v.hint ? v.nHint : 0));
    for (int64_t i = 0; i < b.batch; ++i)
      if (!std::isfinite(v.hint[i]))
        throw InputError(cat("hint[", i, "]: expected a finite logit but got ", v.hint[i]));
  }
  const bool need = needsNegatives(c);
  const bool given = v.negItem != nullptr || v.negCat != nullptr;
  if (need && !given)
    throw InputError(cat("negItem: the model's aux loss is on (auxAlpha ", c.auxAlpha,
                         "), so negItem and negCat are required (docs/model.md §8)"));
  if (!need && given)
    throw InputError(cat("negItem: this model has no aux loss (", c.hasGru() ? "auxAlpha is 0" : "no GRU",
                         "), so negItem and negCat must be left out"));
  if (!need) return;
  const int64_t cells = b.batch * b.steps;
  if (!v.negItem || static_cast<int64_t>(v.nNegItem) != cells)
    throw InputError(cat("negItem: expected ", cells, " elements but got ", v.negItem ? v.nNegItem : 0));
  if (!v.negCat || static_cast<int64_t>(v.nNegCat) != cells)
    throw InputError(cat("negCat: expected ", cells, " elements but got ", v.negCat ? v.nNegCat : 0));
  for (int64_t k = 0; k < cells; ++k) {
    if (v.negItem[k] < 0 || v.negItem[k] >= c.itemVocab)
      throw InputError(cat("negItem[", k / b.steps, ", ", k % b.steps, "]: id ", v.negItem[k], " is outside [0, ",
                           c.itemVocab, ")"));
    if (v.negCat[k] < 0 || v.negCat[k] >= c.catVocab)
      throw InputError(
          cat("negCat[", k / b.steps, ", ", k % b.steps, "]: id ", v.negCat[k], " is outside [0, ", c.catVocab, ")"));
  }
}

}  // namespace dien
