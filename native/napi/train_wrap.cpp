#include "train_wrap.h"

#include <cmath>
#include <cstring>
#include <utility>

#include "../common/errors.h"
#include "async_job.h"
#include "model_wrap.h"
#include "tagged_handle.h"
#include "typed_arrays.h"

namespace dien {

namespace {

Napi::Float32Array toFloat32Array(Napi::Env env, const float* data, size_t n) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  if (n) std::memcpy(out.Data(), data, n * sizeof(float));
  return out;
}

Napi::Object losses(Napi::Env env, double loss, double bce, double aux) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("loss", loss);
  o.Set("bceLoss", bce);
  o.Set("auxLoss", aux);
  return o;
}

class GradientsJob : public AsyncJob {
 public:
  GradientsJob(std::shared_ptr<Engine> e, TrainBatchData b) : engine_(std::move(e)), batch_(std::move(b)) {}

 protected:
  void run() override {
    engine_->lossAndGradients(batch_.view(), pass_);
    dense_ = train::denseGradients(engine_->gradLayout(), pass_);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = losses(env, pass_.loss, pass_.bceLoss, pass_.auxLoss);
    o.Set("logits", toFloat32Array(env, pass_.logits.data(), pass_.logits.size()));
    Napi::Object g = Napi::Object::New(env);
    const auto& specs = engine_->weights().specs();
    for (size_t i = 0; i < specs.size(); ++i)
      if (isTrainableTensor(specs[i].kind))
        g.Set(specs[i].name, toFloat32Array(env, dense_[i].data(), dense_[i].size()));
    o.Set("gradients", g);
    return o;
  }

 private:
  std::shared_ptr<Engine> engine_;
  TrainBatchData batch_;
  train::PassResult<float> pass_;
  std::vector<std::vector<float>> dense_;
};

class StepJob : public AsyncJob {
 public:
  StepJob(std::shared_ptr<Trainer> t, TrainBatchData b) : trainer_(std::move(t)), batch_(std::move(b)) {}

 protected:
  void run() override { res_ = trainer_->step(batch_.view()); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = losses(env, res_.loss, res_.bceLoss, res_.auxLoss);
    o.Set("gradNorm", res_.gradNorm);
    return o;
  }

 private:
  std::shared_ptr<Trainer> trainer_;
  TrainBatchData batch_;
  StepResult res_;
};

class RocketStepJob : public AsyncJob {
 public:
  RocketStepJob(std::shared_ptr<RocketTrainer> t, TrainBatchData b) : trainer_(std::move(t)), batch_(std::move(b)) {}

 protected:
  void run() override { res_ = trainer_->step(batch_.view()); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("loss", res_.loss);
    o.Set("boosterBce", res_.boosterBce);
    o.Set("boosterAux", res_.boosterAux);
    o.Set("lightBce", res_.lightBce);
    o.Set("lightAux", res_.lightAux);
    o.Set("hintLoss", res_.hintLoss);
    o.Set("gradNorm", res_.gradNorm);
    return o;
  }

 private:
  std::shared_ptr<RocketTrainer> trainer_;
  TrainBatchData batch_;
  RocketStepResult res_;
};

double numberOption(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw TypeMismatch(cat("options.", key, ": expected a number but got ", describeJsValue(v)));
  return v.As<Napi::Number>().DoubleValue();
}

// Marks the Externals that carry a trainer to the NativeTrainer constructor.
constexpr napi_type_tag kTrainerTag = {0x5b1f0c7e93a24d18ull, 0xe2a76c4f19d03b85ull};
constexpr napi_type_tag kRocketTag = {0x7c2d94e15a0b3f68ull, 0x4e81b6d27f9c0a53ull};

AdamOptions adamOptions(const Napi::Object& o) {
  AdamOptions a;
  for (const AdamField& f : kAdamFields) a.*f.second = numberOption(o, f.first);
  return a;
}

// { steps, epoch, lr, options } of a Trainer or RocketTrainer.
template <class T>
Napi::Object progressInfo(Napi::Env env, const T& trainer, const AdamOptions& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("steps", static_cast<double>(trainer.steps()));
  o.Set("epoch", static_cast<double>(trainer.epoch()));
  o.Set("lr", trainer.lr());
  Napi::Object opts = Napi::Object::New(env);
  for (const AdamField& f : kAdamFields) opts.Set(f.first, a.*f.second);
  o.Set("options", opts);
  return o;
}

}  // namespace

TrainBatchData copyTrainBatch(const Napi::Object& in, const Config& c) {
  // Every field is read before any array is copied (model_wrap.h says why).
  Napi::Value v[kBatchFields];
  for (int i = 0; i < kBatchFields; ++i) v[i] = in.Get(kBatchFieldNames[i]);
  const Napi::Value label = in.Get("label"), negItem = in.Get("negItem"), negCat = in.Get("negCat");
  TrainBatchData d;
  copyBatchFields(v, c, d.base);
  d.label = copyFloat32Array(label, "label");
  if (!negItem.IsUndefined()) copyInt32Array(negItem, "negItem", d.negItem);
  if (!negCat.IsUndefined()) copyInt32Array(negCat, "negCat", d.negCat);
  return d;
}

Napi::Value stageGradients(Napi::Env env, std::shared_ptr<Engine> engine, const Napi::Value& inputs) {
  if (!inputs.IsObject()) throw TypeMismatch("batch: expected an object of typed arrays");
  TrainBatchData d = copyTrainBatch(inputs.As<Napi::Object>(), engine->config());
  return wrapCall(env, std::make_unique<GradientsJob>(std::move(engine), std::move(d)), "dien.lossAndGradients");
}

Napi::Value createTrainer(Napi::Env env, std::shared_ptr<Engine> engine, const Napi::Value& options) {
  if (!options.IsObject()) throw TypeMismatch("options: expected an object");
  if (engine->quantized()) throw ConfigError(kQuantisedDoesNotTrain);
  return TrainerWrap::Wrap(env, std::make_shared<Trainer>(std::move(engine), adamOptions(options.As<Napi::Object>())));
}

Napi::Value createRocketTrainer(Napi::Env env, std::shared_ptr<Engine> booster, std::shared_ptr<Engine> light,
                                const Napi::Value& options) {
  if (!options.IsObject()) throw TypeMismatch("options: expected an object");
  const Napi::Object o = options.As<Napi::Object>();
  RocketOptions r;
  r.adam = adamOptions(o);
  r.lambda = numberOption(o, "lambda");
  const Napi::Value emb = o.Get("embeddings");
  const std::string embeddings = emb.IsString() ? emb.As<Napi::String>().Utf8Value() : "";
  if (embeddings != "joint" && embeddings != "booster")
    throw InputError(cat("options.embeddings: expected \"joint\" or \"booster\" but got ", describeJsValue(emb)));
  r.lightTrainsEmbeddings = embeddings == "joint";
  return RocketWrap::Wrap(env, std::make_shared<RocketTrainer>(std::move(booster), std::move(light), r));
}

Napi::Function TrainerWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(
      env, "NativeTrainer",
      {InstanceMethod("stageStep", &TrainerWrap::StageStep), InstanceMethod("stageSave", &TrainerWrap::StageSave),
       InstanceMethod("endEpoch", &TrainerWrap::EndEpoch), InstanceMethod("info", &TrainerWrap::Info)});
  addonData(env).trainerClass = Napi::Persistent(cls);
  return cls;
}

Napi::Object TrainerWrap::Wrap(Napi::Env env, std::shared_ptr<Trainer> trainer) {
  return newTaggedHandle(env, std::move(trainer), kTrainerTag, addonData(env).trainerClass);
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
  trainer_ =
      takeTaggedHandle<Trainer>(info, kTrainerTag, "NativeTrainer is created by model.trainer() or Trainer.resume()");
}

// stageStep(batch) -> prepared call resolving { loss, bceLoss, auxLoss, gradNorm }
Napi::Value TrainerWrap::StageStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw TypeMismatch("batch: expected an object of typed arrays");
    TrainBatchData d = copyTrainBatch(info[0].As<Napi::Object>(), trainer_->engine()->config());
    return wrapCall(env, std::make_unique<StepJob>(trainer_, std::move(d)), "dien.trainStep");
  });
}

Napi::Value TrainerWrap::StageSave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::optional<std::string> vocab = optionalVocab(info, 0);
    return wrapCall(env, std::make_unique<BytesJob>([t = trainer_, vocab = std::move(vocab)] {
                      return t->save(vocab ? &*vocab : nullptr);
                    }),
                    "dien.trainerSave");
  });
}

Napi::Value TrainerWrap::EndEpoch(const Napi::CallbackInfo& info) {
  trainer_->endEpoch();
  return info.Env().Undefined();
}

Napi::Value TrainerWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return progressInfo(env, *trainer_, trainer_->options()); });
}

Napi::Function RocketWrap::Define(Napi::Env env) {
  Napi::Function cls =
      DefineClass(env, "NativeRocketTrainer",
                  {InstanceMethod("stageStep", &RocketWrap::StageStep),
                   InstanceMethod("endEpoch", &RocketWrap::EndEpoch), InstanceMethod("info", &RocketWrap::Info)});
  addonData(env).rocketClass = Napi::Persistent(cls);
  return cls;
}

Napi::Object RocketWrap::Wrap(Napi::Env env, std::shared_ptr<RocketTrainer> trainer) {
  return newTaggedHandle(env, std::move(trainer), kRocketTag, addonData(env).rocketClass);
}

RocketWrap::RocketWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RocketWrap>(info) {
  trainer_ = takeTaggedHandle<RocketTrainer>(info, kRocketTag, "NativeRocketTrainer is created by rocketTrainer()");
}

// stageStep(batch) -> prepared call resolving the step's losses and gradient norm
Napi::Value RocketWrap::StageStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw TypeMismatch("batch: expected an object of typed arrays");
    TrainBatchData d = copyTrainBatch(info[0].As<Napi::Object>(), trainer_->booster()->config());
    return wrapCall(env, std::make_unique<RocketStepJob>(trainer_, std::move(d)), "dien.rocketStep");
  });
}

Napi::Value RocketWrap::EndEpoch(const Napi::CallbackInfo& info) {
  trainer_->endEpoch();
  return info.Env().Undefined();
}

Napi::Value RocketWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = progressInfo(env, *trainer_, trainer_->options().adam);
    o.Set("lambda", trainer_->options().lambda);
    o.Set("embeddings", trainer_->options().lightTrainsEmbeddings ? "joint" : "booster");
    return o;
  });
}

}  // namespace dien
