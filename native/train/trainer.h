// Adam on a model's weights (docs/model.md §9), in place, with the optimiser state kept
// beside the engine and saved with it as a checkpoint (model/safetensors.h).
//
// Lazy for tables: a step updates only the embedding and wide rows its batch read (their
// m and v included); rows it did not read keep their weights and moments, as in
// TensorFlow's LazyAdam and PyTorch's SparseAdam. Bias correction uses the global step.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "../model/engine.h"
#include "../model/safetensors.h"
#include "adam.h"

namespace dien {

struct StepResult {
  double loss = 0, bceLoss = 0, auxLoss = 0, gradNorm = 0;
};

class Trainer {
 public:
  Trainer(std::shared_ptr<Engine> engine, const AdamOptions& o);
  // From a checkpoint's state (resume): options, step, epoch and lr come from it.
  Trainer(std::shared_ptr<Engine> engine, CheckpointState state);

  // One Adam step on a validated-here batch. A batch that fails validation, or whose
  // loss or gradient is not finite, changes nothing.
  StepResult step(const TrainBatchView& b);
  void endEpoch();  // lr *= lrDecay
  // Weights + optimiser state; vocab as for Engine::save.
  std::vector<uint8_t> save(const std::string* vocab = nullptr) const;

  const std::shared_ptr<Engine>& engine() const { return engine_; }
  const AdamOptions& options() const { return opts_; }
  int64_t steps() const { return step_; }
  int64_t epoch() const { return epoch_; }
  double lr() const { return lr_; }

 private:
  void ensureState();
  std::string stateJson() const;

  std::shared_ptr<Engine> engine_;
  AdamOptions opts_;
  int64_t step_ = 0, epoch_ = 0;
  double lr_ = 0;
  std::unique_ptr<Weights> m_, v_;  // allocated at the first step
  train::PassResult<float> pass_;   // reused: a step reallocates nothing
};

}  // namespace dien
