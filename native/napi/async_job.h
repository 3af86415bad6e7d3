// Heavy work off the JS thread, settling a Promise. Built on the Node-API C calls
// rather than Napi::AsyncWorker so that completing while an environment is torn down
// (a worker thread terminated mid-call) can never throw out of a libuv callback:
// every status is checked, every exception caught, and nothing is settled once the
// environment is closing.
//
// A job owns everything run() reads: the binding copies JS inputs into the job on the
// JS thread before queuing it, so no JS-owned memory is read off that thread.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "errors.h"

namespace dien {

struct OwnedText;  // napi/vocab_wrap.cpp

// Per-environment state (main thread and each worker thread have their own).
struct EnvState {
  std::atomic<bool> closing{false};
};

struct AddonData {
  std::shared_ptr<EnvState> env = std::make_shared<EnvState>();
  Napi::FunctionReference modelClass;
  Napi::FunctionReference trainerClass;
  Napi::FunctionReference rocketClass;
  Napi::FunctionReference vocabClass;
  // Buffers of vocabulary text lent to JS (napi/vocab_wrap.cpp), by address.
  std::unordered_map<const uint8_t*, std::weak_ptr<OwnedText>> lentTexts;
  size_t lentSwept = 0;  // its size after the last sweep of expired entries
};

// Creates this environment's AddonData and the cleanup hook that marks it closing.
AddonData& initAddonData(Napi::Env env);
AddonData& addonData(Napi::Env env);

class AsyncJob {
 public:
  virtual ~AsyncJob() = default;
  // Queues the job on libuv's pool and returns its promise.
  static Napi::Promise queue(Napi::Env env, std::unique_ptr<AsyncJob> job, const char* name);

 protected:
  virtual void run() = 0;                         // pool thread; may throw
  virtual Napi::Value result(Napi::Env env) = 0;  // JS thread, after run() succeeded; may throw

 private:
  static void execute(napi_env env, void* data);
  static void complete(napi_env env, napi_status status, void* data);
  void settle(napi_env env, napi_status status);

  napi_async_work work_ = nullptr;
  napi_deferred deferred_ = nullptr;
  std::shared_ptr<EnvState> envState_;
  bool failed_ = false;
  CaughtError error_;
};

// Work whose result is a file's bytes (a save), resolved as a Buffer. make holds what it
// needs (its own share of the engine), so a save staged before dispose() still runs.
class BytesJob : public AsyncJob {
 public:
  explicit BytesJob(std::function<std::vector<uint8_t>()> make) : make_(std::move(make)) {}

 protected:
  void run() override { bytes_ = make_(); }
  Napi::Value result(Napi::Env env) override { return Napi::Buffer<uint8_t>::Copy(env, bytes_.data(), bytes_.size()); }

 private:
  std::function<std::vector<uint8_t>()> make_;
  std::vector<uint8_t> bytes_;
};

}  // namespace dien
