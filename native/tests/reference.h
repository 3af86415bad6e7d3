// A plain float64 transcription of docs/model.md §3-7 and §10, one sample at a
// time, with none of the fast path's restructuring. The native tests hold every
// backend to it.
#pragma once

#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/weights.h"

namespace dien {

std::vector<double> referenceForward(const Config& c, const Weights& w, const BatchView& b, bool logits);

}  // namespace dien
