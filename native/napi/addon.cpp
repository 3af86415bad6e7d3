// Module initialisation (called by module_entry.cpp once the CPU check has passed):
// loadModel, createModel, runCall, cudaStatus, buildInfo, errorCodes, the test hooks, and the
// NativeModel class. lib/native.ts declares this surface as one typed interface.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../common/errors.h"
#include "../common/isa.h"
#include "../cuda/device_probe.h"
#include "../model/engine.h"
#include "../model/weight_file.h"
#include "async_job.h"
#include "model_wrap.h"
#include "train_wrap.h"
#include "typed_arrays.h"
#include "vocab_wrap.h"

namespace dien {

namespace {

constexpr int kAbiVersion = 11;

EngineOptions readOptions(const Napi::Value& v) {
  EngineOptions o;
  if (v.IsUndefined()) return o;
  if (!v.IsObject()) throw TypeMismatch("options: expected an object but got " + describeJsValue(v));
  Napi::Object obj = v.As<Napi::Object>();
  const Napi::Value threads = obj.Get("threads");
  if (!threads.IsUndefined()) {
    const double t = threads.IsNumber() ? threads.As<Napi::Number>().DoubleValue() : -1;
    if (!(t >= 0 && t <= 1024 && std::floor(t) == t))
      throw InputError("options.threads: expected an integer in [0, 1024] but got " + threads.ToString().Utf8Value());
    o.threads = static_cast<int>(t);
  }
  const Napi::Value device = obj.Get("device");
  if (!device.IsUndefined()) {
    if (!device.IsString()) throw TypeMismatch("options.device: expected a string but got " + describeJsValue(device));
    o.device = device.As<Napi::String>().Utf8Value();
  }
  const Napi::Value mmap = obj.Get("mmap");
  if (!mmap.IsUndefined()) {
    if (!mmap.IsBoolean()) throw TypeMismatch("options.mmap: expected a boolean but got " + describeJsValue(mmap));
    o.mmap = mmap.As<Napi::Boolean>().Value();
  }
  const Napi::Value fromEnv = obj.Get("deviceFromEnvironment");
  o.deviceFromEnvironment = fromEnv.IsBoolean() && fromEnv.As<Napi::Boolean>().Value();
  return o;
}

class LoadJob : public AsyncJob {
 public:
  LoadJob(std::string path, std::vector<uint8_t> bytes, EngineOptions opts)
      : path_(std::move(path)), bytes_(std::move(bytes)), opts_(std::move(opts)) {}

 protected:
  void run() override {
    engine_ =
        path_.empty() ? Engine::fromSafetensors(bytes_.data(), bytes_.size(), opts_) : Engine::fromFile(path_, opts_);
  }
  Napi::Value result(Napi::Env env) override { return ModelWrap::Wrap(env, engine_); }

 private:
  std::string path_;  // empty: bytes_ holds the file
  std::vector<uint8_t> bytes_;
  EngineOptions opts_;
  std::shared_ptr<Engine> engine_;
};

class CreateJob : public AsyncJob {
 public:
  CreateJob(std::string config, uint64_t seed, EngineOptions opts, std::string vocab)
      : config_(std::move(config)), seed_(seed), opts_(std::move(opts)), vocab_(std::move(vocab)) {}

 protected:
  void run() override { engine_ = Engine::create(Config::fromJsonText(config_), seed_, opts_, std::move(vocab_)); }
  Napi::Value result(Napi::Env env) override { return ModelWrap::Wrap(env, engine_); }

 private:
  std::string config_;
  uint64_t seed_;
  EngineOptions opts_;
  std::string vocab_;
  std::shared_ptr<Engine> engine_;
};

// A checkpoint (train/trainer.h) read back: the model and its trainer, both from one file.
class ResumeJob : public AsyncJob {
 public:
  ResumeJob(std::string path, EngineOptions opts) : path_(std::move(path)), opts_(std::move(opts)) {}

 protected:
  void run() override {
    const std::vector<uint8_t> bytes = readFile(path_);
    try {
      CheckpointState state;
      LoadedWeights lw = readSafetensors(bytes.data(), bytes.size(), &state);
      if (state.trainer.empty())
        throw FormatError(
            "not a checkpoint: __metadata__ has no \"trainer\" (a weight file loads with DienModel.load)");
      const auto engine = Engine::fromLoaded(std::move(lw), opts_);
      trainer_ = std::make_shared<Trainer>(engine, std::move(state));
    } catch (const CodedError& e) {
      if (e.code != ErrorCode::BadWeights && e.code != ErrorCode::BadConfig) throw;
      throw CodedError(e.code, cat(path_, ": ", e.what()));
    }
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("model", ModelWrap::Wrap(env, trainer_->engine()));
    o.Set("trainer", TrainerWrap::Wrap(env, trainer_));
    return o;
  }

 private:
  std::string path_;
  EngineOptions opts_;
  std::shared_ptr<Trainer> trainer_;
};

// resumeTrainer(path, options?) -> Promise<{ model: NativeModel, trainer: NativeTrainer }>
Napi::Value ResumeTrainer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Value source = info.Length() > 0 ? info[0] : env.Undefined();
    EngineOptions opts = readOptions(info.Length() > 1 ? info[1] : env.Undefined());
    if (!source.IsString()) throw TypeMismatch("path: expected a string but got " + describeJsValue(source));
    std::string path = source.As<Napi::String>().Utf8Value();
    if (path.empty() || path.find('\0') != std::string::npos)
      throw InputError("path: expected a file path but got an empty string or one with a NUL character");
    return AsyncJob::queue(env, std::make_unique<ResumeJob>(std::move(path), std::move(opts)), "dien.resume");
  });
}

// loadModel(source: string (a path) | Uint8Array (the file's bytes, copied now), options?) -> Promise<NativeModel>
Napi::Value LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Value source = info.Length() > 0 ? info[0] : env.Undefined();
    EngineOptions opts = readOptions(info.Length() > 1 ? info[1] : env.Undefined());
    std::string path;
    std::vector<uint8_t> bytes;
    if (source.IsString()) {
      path = source.As<Napi::String>().Utf8Value();
      if (path.empty() || path.find('\0') != std::string::npos)
        throw InputError("source: expected a file path but got an empty string or one with a NUL character");
    } else {
      bytes = copyUint8Array(source, "source");
    }
    return AsyncJob::queue(env, std::make_unique<LoadJob>(std::move(path), std::move(bytes), std::move(opts)),
                           "dien.load");
  });
}

// createModel(configJson: string, seed: number, options?, vocabJson?: string) -> Promise<NativeModel>
Napi::Value CreateModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsString()) throw TypeMismatch("config: expected a JSON string");
    if (!info[1].IsNumber()) throw TypeMismatch("seed: expected a number but got " + describeJsValue(info[1]));
    const double seed = info[1].As<Napi::Number>().DoubleValue();
    if (!(seed >= 0 && seed <= 9007199254740991.0 && std::floor(seed) == seed))
      throw InputError(cat("seed: expected an integer in [0, 2^53) but got ", seed));
    std::string vocab;
    if (info.Length() > 3 && !info[3].IsUndefined()) {
      if (!info[3].IsString()) throw TypeMismatch("vocab: expected a JSON string but got " + describeJsValue(info[3]));
      vocab = info[3].As<Napi::String>().Utf8Value();
    }
    auto job =
        std::make_unique<CreateJob>(info[0].As<Napi::String>().Utf8Value(), static_cast<uint64_t>(seed),
                                    readOptions(info.Length() > 2 ? info[2] : env.Undefined()), std::move(vocab));
    return AsyncJob::queue(env, std::move(job), "dien.create");
  });
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

std::string trimmed(const char* s) {
  std::string t(s);
  const size_t a = t.find_first_not_of(' ');
  return a == std::string::npos ? std::string() : t.substr(a);
}

// buildInfo() -> { march, builtIsa, runningIsa, missingIsa, isaChecked, cuda }
Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  char running[1024], missing[512];
  dien_isa_running(running, sizeof running);
  dien_isa_missing(missing, sizeof missing);
  Napi::Object o = Napi::Object::New(env);
  o.Set("march", dien_isa_march());
  o.Set("level", dien_isa_level());
  o.Set("builtIsa", trimmed(dien_isa_built()));
  o.Set("runningIsa", std::string(running));
  o.Set("missingIsa", std::string(missing));
  o.Set("isaNamesKnown", dien_isa_all_known() == 1);
#if defined(DIEN_HAVE_CUDA)
  o.Set("cuda", true);
#else
  o.Set("cuda", false);
#endif
  return o;
}

// errorCodes() -> [{ code, meaning }]: the table of common/error_codes.h.
Napi::Value ErrorCodes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
#define DIEN_ROW(e, code, meaning)             \
  {                                            \
    Napi::Object row = Napi::Object::New(env); \
    row.Set("code", code);                     \
    row.Set("meaning", meaning);               \
    out.Set(i++, row);                         \
  }
  DIEN_ERROR_CODES(DIEN_ROW)
#undef DIEN_ROW
  return out;
}

// raiseCoded(code, message): throws the C++ exception of that code through the same path
// every native failure takes (test hook for the error table).
Napi::Value RaiseCoded(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::string code = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    const std::string message = info.Length() > 1 && info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
#define DIEN_THROW(e, name, meaning) \
  if (code == name) throw CodedError(ErrorCode::e, message);
    DIEN_ERROR_CODES(DIEN_THROW)
#undef DIEN_THROW
    throw InputError(cat("code: no error code named \"", code, "\""));
  });
}

// injectCudaFault(n): arms the CUDA fault-injection hook (device_probe.h, armCudaFault),
// for the fault tests; returns what the previous arming had left, -1 without CUDA.
Napi::Value InjectCudaFault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 0 && n <= 1e15 && std::floor(n) == n))
      throw InputError(cat("n: expected an integer in [0, 1e15] but got ", info.Length() == 0 ? std::string("nothing")
                                                                           : info[0].IsNumber()
                                                                               ? info[0].ToString().Utf8Value()
                                                                               : describeJsValue(info[0])));
    return Napi::Number::New(env, static_cast<double>(armCudaFault(static_cast<int64_t>(n))));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  initAddonData(env);
  exports.Set("NativeModel", ModelWrap::Define(env));
  exports.Set("NativeTrainer", TrainerWrap::Define(env));
  exports.Set("NativeRocketTrainer", RocketWrap::Define(env));
  exports.Set("NativeVocab", VocabWrap::Define(env));
  exports.Set("loadModel", Napi::Function::New(env, LoadModel, "loadModel"));
  exports.Set("resumeTrainer", Napi::Function::New(env, ResumeTrainer, "resumeTrainer"));
  exports.Set("createModel", Napi::Function::New(env, CreateModel, "createModel"));
  exports.Set("parseVocab", Napi::Function::New(env, ParseVocab, "parseVocab"));
  exports.Set("parseVocabSync", Napi::Function::New(env, ParseVocabSync, "parseVocabSync"));
  exports.Set("vocabText", Napi::Function::New(env, VocabText, "vocabText"));
  exports.Set("runCall", Napi::Function::New(env, RunCall, "runCall"));
  exports.Set("cudaStatus", Napi::Function::New(env, CudaStatusJs, "cudaStatus"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("errorCodes", Napi::Function::New(env, ErrorCodes, "errorCodes"));
  exports.Set("raiseCoded", Napi::Function::New(env, RaiseCoded, "raiseCoded"));
  exports.Set("injectCudaFault", Napi::Function::New(env, InjectCudaFault, "injectCudaFault"));
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  return exports;
}

}  // namespace

}  // namespace dien

napi_value dienInitAddon(napi_env env, napi_value exports) { return Napi::RegisterModule(env, exports, dien::Init); }
