// An AsyncWorker that settles a Promise: Run() executes on a libuv worker thread
// (never on the event loop), and any exception becomes a typed JS rejection.
#pragma once

#include <napi.h>

#include "errors.h"

namespace dien {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

 private:
  void Execute() final {
    try {
      Run();
    } catch (...) {
      error_ = classifyCurrentException();
      SetError(error_.message);
    }
  }
  void OnOK() final {
    Napi::HandleScope scope(Env());
    try {
      deferred_.Resolve(Result(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error&) final {
    Napi::HandleScope scope(Env());
    deferred_.Reject(makeJsError(Env(), error_).Value());
  }

  Napi::Promise::Deferred deferred_;
  CaughtError error_;
};

}  // namespace dien
