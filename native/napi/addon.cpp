// Module entry: loadModel, createModel, cudaStatus and the NativeModel class.
// The TS layer (lib/native.ts) declares this surface as one typed interface.
#include <napi.h>

#include <cmath>
#include <vector>

#include "../common/errors.h"
#include "../cuda/device_probe.h"
#include "../model/engine.h"
#include "model_wrap.h"
#include "promise_worker.h"
#include "typed_arrays.h"

namespace dien {

namespace {

EngineOptions readOptions(const Napi::Value& v) {
  EngineOptions o;
  if (v.IsUndefined()) return o;
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), "options: expected an object but got " + describeJsValue(v));
  Napi::Object obj = v.As<Napi::Object>();
  const Napi::Value threads = obj.Get("threads");
  if (!threads.IsUndefined()) {
    const double t = threads.IsNumber() ? threads.As<Napi::Number>().DoubleValue() : -1;
    if (!(t >= 0 && t <= 1024 && std::floor(t) == t))
      throw Napi::RangeError::New(v.Env(), "options.threads: expected an integer in [0, 1024] but got " +
                                               threads.ToString().Utf8Value());
    o.threads = static_cast<int>(t);
  }
  const Napi::Value device = obj.Get("device");
  if (!device.IsUndefined()) {
    if (!device.IsString())
      throw Napi::TypeError::New(v.Env(), "options.device: expected a string but got " + describeJsValue(device));
    o.device = device.As<Napi::String>().Utf8Value();
  }
  return o;
}

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, Napi::Uint8Array bytes, EngineOptions opts)
      : PromiseWorker(env), bytes_(Napi::Persistent(bytes)), data_(bytes.Data()), size_(bytes.ByteLength()),
        opts_(std::move(opts)) {}

 protected:
  void Run() override { engine_ = Engine::fromSafetensors(data_, size_, opts_); }
  Napi::Value Result(Napi::Env env) override { return ModelWrap::Wrap(env, engine_); }

 private:
  Napi::Reference<Napi::Uint8Array> bytes_;
  const uint8_t* data_;
  size_t size_;
  EngineOptions opts_;
  std::shared_ptr<Engine> engine_;
};

class CreateWorker : public PromiseWorker {
 public:
  CreateWorker(Napi::Env env, std::string config, uint64_t seed, EngineOptions opts)
      : PromiseWorker(env), config_(std::move(config)), seed_(seed), opts_(std::move(opts)) {}

 protected:
  void Run() override { engine_ = Engine::create(Config::fromJsonText(config_), seed_, opts_); }
  Napi::Value Result(Napi::Env env) override { return ModelWrap::Wrap(env, engine_); }

 private:
  std::string config_;
  uint64_t seed_;
  EngineOptions opts_;
  std::shared_ptr<Engine> engine_;
};

// loadModel(bytes: Uint8Array, options?) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "bytes: expected a Uint8Array or Buffer but got " +
                                        (info.Length() ? describeJsValue(info[0]) : std::string("nothing")));
  auto* w = new LoadWorker(env, info[0].As<Napi::Uint8Array>(), readOptions(info.Length() > 1 ? info[1] : env.Undefined()));
  w->Queue();
  return w->promise();
}

// createModel(configJson: string, seed: number, options?) -> Promise<NativeModel>
Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString())
    throw Napi::TypeError::New(env, "config: expected a JSON string");
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "seed: expected a number but got " + describeJsValue(info[1]));
  const double seed = info[1].As<Napi::Number>().DoubleValue();
  if (!(seed >= 0 && seed <= 9007199254740991.0 && std::floor(seed) == seed))
    throw Napi::RangeError::New(env, cat("seed: expected an integer in [0, 2^53) but got ", seed));
  auto* w = new CreateWorker(env, info[0].As<Napi::String>().Utf8Value(), static_cast<uint64_t>(seed),
                             readOptions(info.Length() > 2 ? info[2] : env.Undefined()));
  w->Queue();
  return w->promise();
}

Napi::Value CudaStatusJs(const Napi::CallbackInfo& info) {
  const CudaStatus s = probeCuda();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("built", s.built);
  o.Set("usable", s.usable);
  o.Set("devices", s.devices);
  o.Set("name", s.name);
  o.Set("reason", s.reason);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("loadModel", Napi::Function::New(env, LoadModel, "loadModel"));
  exports.Set("createModel", Napi::Function::New(env, CreateModel, "createModel"));
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatusJs, "cudaStatus"));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

}  // namespace dien

static Napi::Object InitDien(Napi::Env env, Napi::Object exports) { return dien::Init(env, exports); }

NODE_API_MODULE(dien, InitDien)
