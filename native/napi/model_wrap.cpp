#include "model_wrap.h"

#include <cstring>
#include <vector>

#include "../common/errors.h"
#include "promise_worker.h"
#include "typed_arrays.h"

namespace dien {

namespace {

struct AddonData {
  Napi::FunctionReference modelClass;
};

// Keeps JS values alive while a worker reads their memory.
class Pins {
 public:
  void add(Napi::Value v) {
    if (v.IsObject()) refs_.push_back(Napi::Persistent(v));  // Node-API references hold objects only
  }

 private:
  std::vector<Napi::Reference<Napi::Value>> refs_;
};

Napi::Float32Array outputArray(Napi::Env env, const Napi::Value& v, size_t n, const char* what) {
  if (v.IsUndefined() || v.IsNull()) return Napi::Float32Array::New(env, n);
  Napi::Float32Array out = float32Array(v, "out");
  if (out.ElementLength() != n)
    throw Napi::RangeError::New(env, cat("out: expected ", n, " elements (one per ", what, ") but got ",
                                         out.ElementLength()));
  return out;
}

class PredictWorker : public PromiseWorker {
 public:
  PredictWorker(Napi::Env env, std::shared_ptr<Engine> e, const BatchView& b, Napi::Float32Array out, bool logits)
      : PromiseWorker(env), engine_(std::move(e)), batch_(b), out_(Napi::Persistent(out)), outPtr_(out.Data()),
        logits_(logits) {}
  Pins pins;

 protected:
  void Run() override { engine_->predict(batch_, outPtr_, logits_); }
  Napi::Value Result(Napi::Env) override { return out_.Value(); }

 private:
  std::shared_ptr<Engine> engine_;
  BatchView batch_;
  Napi::Reference<Napi::Float32Array> out_;
  float* outPtr_;
  bool logits_;
};

class CandidatesWorker : public PromiseWorker {
 public:
  CandidatesWorker(Napi::Env env, std::shared_ptr<Engine> e, const CandidatesView& v, Napi::Float32Array out,
                   bool logits)
      : PromiseWorker(env), engine_(std::move(e)), view_(v), out_(Napi::Persistent(out)), outPtr_(out.Data()),
        logits_(logits) {}
  Pins pins;

 protected:
  void Run() override { engine_->scoreCandidates(view_, outPtr_, logits_); }
  Napi::Value Result(Napi::Env) override { return out_.Value(); }

 private:
  std::shared_ptr<Engine> engine_;
  CandidatesView view_;
  Napi::Reference<Napi::Float32Array> out_;
  float* outPtr_;
  bool logits_;
};

class SaveWorker : public PromiseWorker {
 public:
  SaveWorker(Napi::Env env, std::shared_ptr<Engine> e) : PromiseWorker(env), engine_(std::move(e)) {}

 protected:
  void Run() override { bytes_ = engine_->save(); }
  Napi::Value Result(Napi::Env env) override {
    return Napi::Buffer<uint8_t>::Copy(env, bytes_.data(), bytes_.size());
  }

 private:
  std::shared_ptr<Engine> engine_;
  std::vector<uint8_t> bytes_;
};

bool booleanArg(const Napi::Value& v, const char* field) {
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) throw Napi::TypeError::New(v.Env(), cat(field, ": expected a boolean but got ", describeJsValue(v)));
  return v.As<Napi::Boolean>().Value();
}

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeModel",
                                   {InstanceMethod("predict", &ModelWrap::Predict),
                                    InstanceMethod("scoreCandidates", &ModelWrap::ScoreCandidates),
                                    InstanceMethod("save", &ModelWrap::Save), InstanceMethod("info", &ModelWrap::Info),
                                    InstanceMethod("dispose", &ModelWrap::Dispose),
                                    InstanceAccessor("disposed", &ModelWrap::Disposed, nullptr)});
  auto* data = new AddonData();
  data->modelClass = Napi::Persistent(cls);
  env.SetInstanceData(data);
  return cls;
}

Napi::Object ModelWrap::Wrap(Napi::Env env, std::shared_ptr<Engine> engine) {
  auto* holder = new std::shared_ptr<Engine>(std::move(engine));
  auto ext = Napi::External<std::shared_ptr<Engine>>::New(
      env, holder, [](Napi::Env, std::shared_ptr<Engine>* p) { delete p; });
  return env.GetInstanceData<AddonData>()->modelClass.New({ext});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal())
    throw Napi::TypeError::New(info.Env(), "NativeModel is created by loadModel() or createModel(), not with new");
  engine_ = *info[0].As<Napi::External<std::shared_ptr<Engine>>>().Data();
}

std::shared_ptr<Engine> ModelWrap::engine(Napi::Env env) const {
  if (!engine_) {
    Napi::Error e = Napi::Error::New(env, "the model has been disposed");
    e.Set("code", Napi::String::New(env, "DIEN_DISPOSED"));
    throw e;
  }
  return engine_;
}

// predict(inputs, out?, logits?) -> Promise<Float32Array>
Napi::Value ModelWrap::Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto e = engine(env);
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "inputs: expected an object of Int32Arrays");
  Napi::Object in = info[0].As<Napi::Object>();
  // Read each field once: the same values are viewed and pinned.
  const char* const fields[] = {"targetItem", "targetCat", "histItem", "histCat", "histLen", "user"};
  Napi::Value vals[6];
  for (int i = 0; i < 6; ++i) vals[i] = in.Get(fields[i]);
  BatchView b;
  const Int32View ti = int32Array(vals[0], "targetItem");
  const Int32View tc = int32Array(vals[1], "targetCat");
  const Int32View hi = int32Array(vals[2], "histItem");
  const Int32View hc = int32Array(vals[3], "histCat");
  const Int32View hl = int32Array(vals[4], "histLen");
  b.batch = static_cast<int64_t>(ti.length);
  b.steps = e->config().maxLen;
  b.targetItem = ti.data;
  b.nTargetItem = ti.length;
  b.targetCat = tc.data;
  b.nTargetCat = tc.length;
  b.histItem = hi.data;
  b.nHistItem = hi.length;
  b.histCat = hc.data;
  b.nHistCat = hc.length;
  b.histLen = hl.data;
  b.nHistLen = hl.length;
  if (e->config().hasUser() && !vals[5].IsUndefined()) {
    const Int32View u = int32Array(vals[5], "user");
    b.user = u.data;
    b.nUser = u.length;
  }
  Napi::Float32Array out = outputArray(env, info.Length() > 1 ? info[1] : env.Undefined(), ti.length, "sample");
  const bool logits = booleanArg(info.Length() > 2 ? info[2] : env.Undefined(), "logits");
  auto* w = new PredictWorker(env, e, b, out, logits);
  for (const Napi::Value& v : vals) w->pins.add(v);
  w->Queue();
  return w->promise();
}

// scoreCandidates(histItem, histCat, length, user, items, cats, out?, logits?) -> Promise<Float32Array>
Napi::Value ModelWrap::ScoreCandidates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto e = engine(env);
  if (info.Length() < 6) throw Napi::TypeError::New(env, "scoreCandidates: expected at least 6 arguments");
  CandidatesView v;
  const Int32View hi = int32Array(info[0], "histItem");
  const Int32View hc = int32Array(info[1], "histCat");
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "histLen: expected a number but got " + describeJsValue(info[2]));
  if (!info[3].IsNumber()) throw Napi::TypeError::New(env, "user: expected a number but got " + describeJsValue(info[3]));
  const double len = info[2].As<Napi::Number>().DoubleValue();
  const double user = info[3].As<Napi::Number>().DoubleValue();
  if (!(len >= 0 && len <= 1e9 && len == static_cast<int64_t>(len)))
    throw Napi::RangeError::New(env, cat("histLen: expected a non-negative integer but got ", len));
  if (!(user >= -1 && user <= 2147483647.0 && user == static_cast<int64_t>(user)))
    throw Napi::RangeError::New(env, cat("user: expected an integer id but got ", user));
  const Int32View items = int32Array(info[4], "items");
  const Int32View cats = int32Array(info[5], "cats");
  v.length = static_cast<int64_t>(len);
  v.histItem = hi.data;
  v.nHistItem = hi.length;
  v.histCat = hc.data;
  v.nHistCat = hc.length;
  v.user = static_cast<int32_t>(user);
  v.count = static_cast<int64_t>(items.length);
  v.items = items.data;
  v.nItems = items.length;
  v.cats = cats.data;
  v.nCats = cats.length;
  Napi::Float32Array out = outputArray(env, info.Length() > 6 ? info[6] : env.Undefined(), items.length, "candidate");
  const bool logits = booleanArg(info.Length() > 7 ? info[7] : env.Undefined(), "logits");
  auto* w = new CandidatesWorker(env, e, v, out, logits);
  for (int i : {0, 1, 4, 5}) w->pins.add(info[i]);
  w->Queue();
  return w->promise();
}

Napi::Value ModelWrap::Save(const Napi::CallbackInfo& info) {
  auto* w = new SaveWorker(info.Env(), engine(info.Env()));
  w->Queue();
  return w->promise();
}

Napi::Value ModelWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto e = engine(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", e->backend());
  o.Set("reason", e->backendReason());
  o.Set("threads", e->threads());
  o.Set("parameters", static_cast<double>(e->parameters()));
  o.Set("config", e->config().toJson().dump());
  return o;
}

Napi::Value ModelWrap::Dispose(const Napi::CallbackInfo& info) {
  engine_.reset();
  return info.Env().Undefined();
}

Napi::Value ModelWrap::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !engine_); }

}  // namespace dien
