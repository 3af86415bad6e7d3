// One training pass over a batch: the docs/model.md §9 loss (mean BCE from the logits +
// auxAlpha x the §8 aux loss, + hintWeight x the §11 hint loss when the batch has a hint)
// and the gradient of every trainable tensor, in precision S.
//
// Samples run in parallel in fixed chunks, each chunk with its own gradient buffer;
// chunks are summed in chunk order and table rows scattered in sample order, so the
// result is bit-identical for any thread count. Table tensors (embeddings, wide) get
// gradients only for the rows the batch reads.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "../cpu/thread_pool.h"
#include "layout.h"
#include "train_batch.h"

namespace dien {
namespace train {

template <class S>
struct TableGrad {
  TensorKind kind = TensorKind::Count;
  int width = 0;
  std::vector<int32_t> rows;  // rows the batch read, in first-read order
  std::vector<S> values;      // [rows.size(), width]
};

// Biased batch statistics of one normalised layer (mlp.bn or a Dice layer).
template <class S>
struct BatchStats {
  TensorKind meanKind = TensorKind::Count, varKind = TensorKind::Count;
  int layer = 0;
  std::vector<S> mean, var;
};

template <class S>
struct PassResult {
  double loss = 0, bceLoss = 0, auxLoss = 0;
  double hintLoss = 0;               // mean (logit - hint)^2; 0 without a hint
  std::vector<S> logits;             // [B], training mode
  std::vector<S> dense;              // GradLayout order
  std::vector<TableGrad<S>> tables;  // one per table tensor of the model
  std::vector<BatchStats<S>> stats;  // for the running-statistics update of a step
};

// Every trainable tensor's gradient as a dense array, in spec order (empty for running
// statistics); table rows the batch did not read are 0.
template <class S>
std::vector<std::vector<S>> denseGradients(const GradLayout& gl, const PassResult<S>& r);

template <class S>
class Backprop {
 public:
  // layout describes the tensors (its values are not read); pool may be null (serial).
  Backprop(const Config& c, const Weights& layout, ThreadPool* pool);
  ~Backprop();
  const GradLayout& gradLayout() const;
  // Inputs must be validated (validateTrainBatch).
  void run(const Params<S>& params, const TrainBatchView& batch, PassResult<S>& out);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace train
}  // namespace dien
