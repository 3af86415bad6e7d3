// How training addresses the model's tensors (model/tensors.h): parameter values of a
// chosen precision laid out like Weights, and gradients split into dense tensors (one
// flat buffer) and tables (embedding and wide tables, whose gradients are kept only for
// the rows a batch reads).
#pragma once

#include <cstdint>
#include <vector>

#include "../model/weights.h"

namespace dien {
namespace train {

inline bool isTable(TensorKind k) { return isTableTensor(k); }
inline bool isTrainable(TensorKind k) { return isTrainableTensor(k); }

// Parameter values of precision S in Weights' layout (float: the model's own storage).
template <class S>
struct Params {
  const Weights* layout = nullptr;
  S* base = nullptr;
  S* get(TensorKind k, int layer = 0) const { return base + layout->offsetAt(layout->indexOf(k, layer)); }
  S* at(size_t i) const { return base + layout->offsetAt(i); }
};

// Offsets of the dense trainable tensors in one flat gradient buffer.
struct GradLayout {
  const Weights* layout = nullptr;
  std::vector<int64_t> offset;  // per spec index; -1 for tables and running statistics
  int64_t size = 0;
  explicit GradLayout(const Weights& w) : layout(&w) {
    for (const TensorSpec& s : w.specs()) {
      const bool dense = isTrainable(s.kind) && !isTable(s.kind);
      offset.push_back(dense ? size : -1);
      if (dense) size += s.numel();
    }
  }
};

template <class S>
struct GradView {
  const GradLayout* gl = nullptr;
  S* base = nullptr;
  S* get(TensorKind k, int layer = 0) const { return base + gl->offset[gl->layout->indexOf(k, layer)]; }
};

}  // namespace train
}  // namespace dien
