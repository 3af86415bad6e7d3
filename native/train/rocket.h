// Rocket Launching (docs/model.md §11): a booster and a light net trained together on the
// same batches, sharing the embedding layer, the light net also pulled towards the
// booster's logits by the hint loss λ · mean_b (ℓ_booster − ℓ_light)².
//
// The gradient block: the booster's logits enter the light net's pass as constants, so
// the hint term reaches the light net and the shared embeddings, never the booster's own
// tensors; each net's gradient is clipped by its own norm, so the hint cannot scale the
// booster's step either. The embedding layer is one set of values kept in both engines:
// each step sums the two nets' gradients of every embedding row read, updates the
// booster's copy with one Adam state and copies the rows to the light net, so the two
// stay bit-identical. With lightTrainsEmbeddings off, the light net reads the shared
// rows but its gradient (the hint's included) stops there: the booster alone trains them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "../model/engine.h"
#include "adam.h"

namespace dien {

struct RocketOptions {
  AdamOptions adam;
  double lambda = 0.03;  // weight of the hint loss
  // The paper's: both nets' gradients train the shared embedding layer. Off: the
  // booster's alone (docs/model.md §11).
  bool lightTrainsEmbeddings = true;
  void validate() const;
};

struct RocketStepResult {
  double loss = 0;  // booster (bce + aux) + light (bce + aux) + lambda * hint
  double boosterBce = 0, boosterAux = 0, lightBce = 0, lightAux = 0, hintLoss = 0;
  double gradNorm = 0;  // of both nets' gradients together, before clipping
};

class RocketTrainer {
 public:
  // Throws ConfigError when the two cannot share an embedding layer (shapes, maxLen, aux
  // negatives differ), are the same engine, or are quantised. Takes no engine lock: the
  // light net's embedding tables become copies of the booster's at the first step.
  RocketTrainer(std::shared_ptr<Engine> booster, std::shared_ptr<Engine> light, const RocketOptions& o);

  // One joint Adam step on a validated-here batch, both engines locked at once; a failed
  // step changes neither net (but for the first step's embedding copy).
  RocketStepResult step(const TrainBatchView& b);
  void endEpoch();

  const std::shared_ptr<Engine>& booster() const { return booster_; }
  const std::shared_ptr<Engine>& light() const { return light_; }
  const RocketOptions& options() const { return opts_; }
  int64_t steps() const { return step_; }
  int64_t epoch() const { return epoch_; }
  double lr() const { return lr_; }

 private:
  void update(const train::PassResult<float>& rb, const train::GradLayout& glB, Weights& wB,
              const train::PassResult<float>& rl, const train::GradLayout& glL, Weights& wL, RocketStepResult& res);

  std::shared_ptr<Engine> booster_, light_;
  RocketOptions opts_;
  int64_t step_ = 0, epoch_ = 0;
  double lr_ = 0;
  bool synced_ = false;  // the light net holds the booster's embedding tables
  // Adam moments per spec index: all of the booster's trainable tensors, the light net's
  // but its embeddings (the shared rows' moments live on the booster's side).
  std::vector<std::vector<float>> mB_, vB_, mL_, vL_;
  // The shared rows' summed gradients, per embedding kind (slot: row -> place, or -1).
  struct Shared {
    TensorKind kind;
    int width;
    std::vector<int32_t> slot, rows;
    std::vector<float> values;
  };
  std::vector<Shared> shared_;
  train::PassResult<float> passB_, passL_;  // reused: a step reallocates nothing
};

}  // namespace dien
