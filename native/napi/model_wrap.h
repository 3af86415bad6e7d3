// The JS handle of one engine (NativeModel) and of one prepared call (NativeCall).
//
// stagePredict / stageCandidates copy their inputs into engine-owned memory at once, on
// the JS thread, and return a NativeCall; its run() queues the work and resolves a new
// Float32Array. The TypeScript layer stages at call time and runs from its per-model
// queue, so JS can change or detach its arrays the moment a call returns. A call holds
// its own share of the engine: dispose() drops the handle's share, and calls already
// staged still finish.
#pragma once

#include <napi.h>

#include <memory>

#include "../model/engine.h"
#include "async_job.h"

namespace dien {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Engine> engine);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<Engine> engine() const;
  Napi::Value StagePredict(const Napi::CallbackInfo& info);
  Napi::Value StageCandidates(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<Engine> engine_;
};

class CallWrap : public Napi::ObjectWrap<CallWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<AsyncJob> job, const char* name);
  explicit CallWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  std::unique_ptr<AsyncJob> job_;
  const char* name_ = "dien";
};

}  // namespace dien
