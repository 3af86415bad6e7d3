// The JS handle of one engine. Every compute call is a PromiseWorker; the input
// typed arrays are read in place (zero-copy) and kept alive by references until the
// worker has finished. dispose() drops the handle's share of the engine; a worker
// still running keeps its own share, so disposal never frees memory in use.
#pragma once

#include <napi.h>

#include <memory>

#include "../model/engine.h"

namespace dien {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Engine> engine);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<Engine> engine(Napi::Env env) const;
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value ScoreCandidates(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<Engine> engine_;
};

}  // namespace dien
