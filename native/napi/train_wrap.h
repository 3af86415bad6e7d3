// The JS surface of training: staged gradient queries on a model, and the NativeTrainer
// handle (Adam state) with staged steps and checkpoint saves. Inputs are copied on the
// JS thread at staging time, like predict's (model_wrap.h).
#pragma once

#include <napi.h>

#include <memory>

#include "../model/engine.h"
#include "../train/rocket.h"
#include "../train/trainer.h"

namespace dien {

// Reads the batch fields of a TrainBatch object (all of them before copying any) and
// copies them: the model's maxLen fixes T.
TrainBatchData copyTrainBatch(const Napi::Object& in, const Config& c);

// A prepared call resolving { loss, bceLoss, auxLoss, logits, gradients }.
Napi::Value stageGradients(Napi::Env env, std::shared_ptr<Engine> engine, const Napi::Value& inputs);

// A NativeTrainer over engine with the options object { lr, beta1, beta2, eps, embeddingL2,
// clipNorm, lrDecay } (every key a number; the TypeScript layer fills the defaults).
Napi::Value createTrainer(Napi::Env env, std::shared_ptr<Engine> engine, const Napi::Value& options);

// A NativeRocketTrainer over booster and light with the createTrainer options plus lambda.
Napi::Value createRocketTrainer(Napi::Env env, std::shared_ptr<Engine> booster, std::shared_ptr<Engine> light,
                                const Napi::Value& options);

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Trainer> trainer);
  explicit TrainerWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value StageStep(const Napi::CallbackInfo& info);
  Napi::Value StageSave(const Napi::CallbackInfo& info);
  Napi::Value EndEpoch(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  std::shared_ptr<Trainer> trainer_;
};

class RocketWrap : public Napi::ObjectWrap<RocketWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<RocketTrainer> trainer);
  explicit RocketWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value StageStep(const Napi::CallbackInfo& info);
  Napi::Value EndEpoch(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);

  std::shared_ptr<RocketTrainer> trainer_;
};

}  // namespace dien
