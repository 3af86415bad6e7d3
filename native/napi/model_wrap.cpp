#include "model_wrap.h"

#include <cstring>
#include <utility>
#include <variant>
#include <vector>

#include "../common/errors.h"
#include "tagged_handle.h"
#include "train_wrap.h"
#include "typed_arrays.h"

namespace dien {

namespace {

// predict or scoreRequests on engine-owned copies of the inputs; resolves a new
// Float32Array (the TypeScript layer copies it into a caller's `out` on the JS thread).
// A batch's buffers go back to the model's pool when the job ends.
class ScoreJob : public AsyncJob {
 public:
  ScoreJob(std::shared_ptr<Engine> e, std::variant<BatchData, RequestsData> in, bool logits,
           std::shared_ptr<BatchPool> pool = nullptr)
      : engine_(std::move(e)), in_(std::move(in)), logits_(logits), pool_(std::move(pool)) {}
  ~ScoreJob() override {
    if (auto* b = std::get_if<BatchData>(&in_); b && pool_) pool_->give(std::move(*b));
  }

 protected:
  void run() override {
    if (const auto* b = std::get_if<BatchData>(&in_)) {
      results_.assign(static_cast<size_t>(b->B), 0.0f);
      engine_->predict(b->view(), results_.data(), logits_);
    } else {
      const auto& r = std::get<RequestsData>(in_);
      results_.assign(r.items.size(), 0.0f);
      engine_->scoreRequests(r.view(), results_.data(), logits_);
    }
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Float32Array out = Napi::Float32Array::New(env, results_.size());
    if (!results_.empty()) std::memcpy(out.Data(), results_.data(), results_.size() * sizeof(float));
    return out;
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::variant<BatchData, RequestsData> in_;
  bool logits_;
  std::shared_ptr<BatchPool> pool_;
  std::vector<float> results_;
};

bool booleanArg(const Napi::CallbackInfo& info, size_t i, const char* field) {
  const Napi::Value v = info.Length() > i ? info[i] : info.Env().Undefined();
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw TypeMismatch(cat(field, ": expected a boolean but got ", describeJsValue(v)));
  return v.As<Napi::Boolean>().Value();
}

}  // namespace

BatchData BatchPool::take() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.empty()) return BatchData();
  BatchData b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void BatchPool::give(BatchData&& b) {
  const size_t bytes = sizeof(int32_t) * (b.targetItem.capacity() + b.targetCat.capacity() + b.histItem.capacity() +
                                          b.histCat.capacity() + b.histLen.capacity() + b.user.capacity());
  if (bytes > kMaxBytes) return;  // a huge batch's compute dwarfs its page faults: not worth holding
  std::lock_guard<std::mutex> lock(mutex_);
  if (free_.size() < kKeep) free_.push_back(std::move(b));
}

Napi::Function ModelWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(
      env, "NativeModel",
      {InstanceMethod("stagePredict", &ModelWrap::StagePredict),
       InstanceMethod("stageRequests", &ModelWrap::StageRequests), InstanceMethod("stageSave", &ModelWrap::StageSave),
       InstanceMethod("stageGradients", &ModelWrap::StageGradients),
       InstanceMethod("createTrainer", &ModelWrap::CreateTrainer),
       InstanceMethod("createRocketTrainer", &ModelWrap::CreateRocketTrainer), InstanceMethod("info", &ModelWrap::Info),
       InstanceMethod("vocab", &ModelWrap::Vocab), InstanceMethod("dispose", &ModelWrap::Dispose),
       InstanceAccessor("disposed", &ModelWrap::Disposed, nullptr)});
  addonData(env).modelClass = Napi::Persistent(cls);
  return cls;
}

namespace {
// Marks the Externals that carry an engine to the NativeModel constructor: any other
// External (a prepared call, another addon's) is refused rather than misread.
constexpr napi_type_tag kEngineTag = {0x3a9e5c1d7b2f4e60ull, 0x91c4d2e8a6b03f17ull};
constexpr napi_type_tag kModelInstanceTag = {0x6d0f3b8a2c5e4179ull, 0xb4e2a91c07d35f86ull};
}  // namespace

Napi::Object ModelWrap::Wrap(Napi::Env env, std::shared_ptr<Engine> engine) {
  return newTaggedHandle(env, std::move(engine), kEngineTag, addonData(env).modelClass);
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  engine_ = takeTaggedHandle<Engine>(info, kEngineTag,
                                     "NativeModel is created by loadModel() or createModel(), not with new");
  // The instance carries a tag too: an argument that claims to be a NativeModel (its
  // prototype swapped, instanceof faked) is checked by tag before it is unwrapped.
  if (napi_type_tag_object(info.Env(), info.This(), &kModelInstanceTag) != napi_ok)
    throw Napi::Error::New(info.Env(), "NativeModel: could not tag the instance");
}

std::shared_ptr<Engine> ModelWrap::engine() const {
  if (!engine_) throw CodedError(ErrorCode::Disposed, "the model has been disposed");
  return engine_;
}

// stagePredict(inputs, logits?) -> NativeCall
Napi::Value ModelWrap::StagePredict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto e = engine();
    if (info.Length() < 1 || !info[0].IsObject()) throw TypeMismatch("inputs: expected an object of Int32Arrays");
    Napi::Object in = info[0].As<Napi::Object>();
    Napi::Value vals[kBatchFields];
    for (int i = 0; i < kBatchFields; ++i) vals[i] = in.Get(kBatchFieldNames[i]);
    const bool logits = booleanArg(info, 1, "logits");
    BatchData b = pool_->take();
    copyBatchFields(vals, e->config(), b);
    // Checked here, on the copy, so that a bad batch is refused before it queues (the
    // engine checks again when it runs: it never trusts its caller).
    validateBatch(e->config(), b.view());
    return wrapCall(env, std::make_unique<ScoreJob>(e, std::move(b), logits, pool_), "dien.predict");
  });
}

const char* const kBatchFieldNames[kBatchFields] = {"targetItem", "targetCat", "histItem",
                                                    "histCat",    "histLen",   "user"};

void copyBatchFields(const Napi::Value* vals, const Config& c, BatchData& b) {
  copyInt32Array(vals[0], "targetItem", b.targetItem);
  copyInt32Array(vals[1], "targetCat", b.targetCat);
  copyInt32Array(vals[2], "histItem", b.histItem);
  copyInt32Array(vals[3], "histCat", b.histCat);
  copyInt32Array(vals[4], "histLen", b.histLen);
  b.user.clear();
  if (c.hasUser() && !vals[5].IsUndefined()) copyInt32Array(vals[5], "user", b.user);
  b.B = static_cast<int64_t>(b.targetItem.size());
  b.T = c.maxLen;
}

// stageRequests({ histOffsets, histItem, histCat, user?, candOffsets, items, cats }, logits?)
// -> NativeCall. Requests packed end to end (RequestsView, native/model/batch.h).
Napi::Value ModelWrap::StageRequests(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto e = engine();
    if (info.Length() < 1 || !info[0].IsObject()) throw TypeMismatch("requests: expected an object of Int32Arrays");
    Napi::Object in = info[0].As<Napi::Object>();
    const bool logits = booleanArg(info, 1, "logits");
    RequestsData r;
    copyInt32Array(in.Get("histOffsets"), "histOffsets", r.histOff);
    copyInt32Array(in.Get("histItem"), "histItem", r.histItem);
    copyInt32Array(in.Get("histCat"), "histCat", r.histCat);
    copyInt32Array(in.Get("candOffsets"), "candOffsets", r.candOff);
    copyInt32Array(in.Get("items"), "items", r.items);
    copyInt32Array(in.Get("cats"), "cats", r.cats);
    const Napi::Value user = in.Get("user");
    if (e->config().hasUser() && !user.IsUndefined()) copyInt32Array(user, "user", r.user);
    // Offsets must be checked here too: view() derives the request count from them.
    if (r.histOff.empty())
      throw InputError("histOffsets: expected at least one element (offsets of R requests hold R + 1)");
    if (r.candOff.size() != r.histOff.size())
      throw InputError(cat("candOffsets: expected ", r.histOff.size(),
                           " elements (one more than the requests, as histOffsets) but got ", r.candOff.size()));
    return wrapCall(env, std::make_unique<ScoreJob>(e, std::move(r), logits), "dien.scoreRequests");
  });
}

// stageSave(dtype?: "float32" | "fp16" | "int8", vocab?: string) -> prepared call
// resolving the weight file's bytes; vocab replaces what __metadata__.vocab would hold
// (Engine::save). It holds its own share of the engine, so a save made before dispose()
// still runs.
Napi::Value ModelWrap::StageSave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    StorageType dtype = StorageType::F32;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsString()) throw TypeMismatch(cat("dtype: expected a string but got ", describeJsValue(info[0])));
      dtype = storageTypeFromName(info[0].As<Napi::String>().Utf8Value());
    }
    std::optional<std::string> vocab = optionalVocab(info, 1);
    return wrapCall(env, std::make_unique<BytesJob>([e = engine(), dtype, vocab = std::move(vocab)] {
                      return e->save(dtype, vocab ? &*vocab : nullptr);
                    }),
                    "dien.save");
  });
}

// stageGradients(batch) -> prepared call resolving the training-mode loss and gradients
Napi::Value ModelWrap::StageGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    return stageGradients(env, engine(), info.Length() > 0 ? info[0] : env.Undefined());
  });
}

// createTrainer(options) -> NativeTrainer
Napi::Value ModelWrap::CreateTrainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    return createTrainer(env, engine(), info.Length() > 0 ? info[0] : env.Undefined());
  });
}

// createRocketTrainer(light, options) -> NativeRocketTrainer, this model the booster
Napi::Value ModelWrap::CreateRocketTrainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Value light = info.Length() > 0 ? info[0] : env.Undefined();
    bool tagged = false;
    const bool isModel =
        light.IsObject() && napi_check_object_type_tag(env, light, &kModelInstanceTag, &tagged) == napi_ok && tagged;
    if (!isModel) throw TypeMismatch(cat("light: expected a NativeModel but got ", describeJsValue(light)));
    const ModelWrap* l = ModelWrap::Unwrap(light.As<Napi::Object>());
    return createRocketTrainer(env, engine(), l->engine(), info.Length() > 1 ? info[1] : env.Undefined());
  });
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto e = engine();
    Napi::Object o = Napi::Object::New(env);
    o.Set("backend", e->backend());
    o.Set("reason", e->backendReason());
    o.Set("threads", e->threads());
    o.Set("parameters", static_cast<double>(e->parameters()));
    o.Set("config", e->config().toJson().dump());
    o.Set("hasVocab", !e->vocab().empty());
    o.Set("mapped", e->mapped());
    o.Set("weightBytes", static_cast<double>(e->weightBytes()));
    return o;
  });
}

// vocab() -> the vocabularies' JSON text, or undefined
Napi::Value ModelWrap::Vocab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::string& v = engine()->vocab();
    return v.empty() ? env.Undefined() : Napi::String::New(env, v);
  });
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  engine_.reset();
  return info.Env().Undefined();
}

Napi::Value ModelWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !engine_); }

namespace {
struct PreparedCall {
  std::unique_ptr<AsyncJob> job;
  const char* name;
};
// Marks the Externals this addon made, so that runCall refuses any other External.
constexpr napi_type_tag kPreparedCallTag = {0x7c4d1e2a9b3f5a61ull, 0x0d1e9c2b7a4f3e85ull};
}  // namespace

Napi::Value wrapCall(Napi::Env env, std::unique_ptr<AsyncJob> job, const char* name) {
  auto ext = Napi::External<PreparedCall>::New(env, new PreparedCall{std::move(job), name},
                                               [](Napi::Env, PreparedCall* c) { delete c; });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, ext, &kPreparedCallTag), Napi::Value());
  return ext;
}

// runCall(call) -> Promise<Float32Array>
Napi::Value RunCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    bool ours = false;
    if (info.Length() < 1 || !info[0].IsExternal() ||
        napi_check_object_type_tag(env, info[0], &kPreparedCallTag, &ours) != napi_ok || !ours)
      throw TypeMismatch("call: expected a call prepared by stagePredict or stageRequests");
    PreparedCall* call = info[0].As<Napi::External<PreparedCall>>().Data();
    if (!call->job) throw CodedError(ErrorCode::Internal, "this native call has already run");
    return AsyncJob::queue(env, std::move(call->job), call->name);
  });
}

}  // namespace dien
