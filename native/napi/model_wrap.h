// The JS handle of one engine (NativeModel) and of one prepared call.
//
// stagePredict / stageRequests copy their inputs into engine-owned memory at once, on
// the JS thread, and return a prepared call; runCall(call) queues the work and resolves
// a new Float32Array (stageSave: a Buffer of the weight file). The TypeScript layer stages at call time and runs from
// its per-model queue, so JS can change or detach its arrays the moment a call returns. A call holds its own share of
// the engine: dispose() drops the handle's share, and calls already staged still finish.
#pragma once

#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "../model/engine.h"
#include "async_job.h"

namespace dien {

// Input buffers recycled between calls of one model: a fresh allocation of a large
// batch per call costs more in page faults than the copy itself (freed heap tops go
// back to the OS), so a few buffer sets of up to 8 MB each are kept and reused.
class BatchPool {
 public:
  BatchData take();
  void give(BatchData&& b);

 private:
  static constexpr size_t kKeep = 4;
  static constexpr size_t kMaxBytes = 8u << 20;
  std::mutex mutex_;
  std::vector<BatchData> free_;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::shared_ptr<Engine> engine);
  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<Engine> engine() const;
  Napi::Value StagePredict(const Napi::CallbackInfo& info);
  Napi::Value StageRequests(const Napi::CallbackInfo& info);
  Napi::Value StageSave(const Napi::CallbackInfo& info);
  Napi::Value StageGradients(const Napi::CallbackInfo& info);
  Napi::Value CreateTrainer(const Napi::CallbackInfo& info);
  Napi::Value CreateRocketTrainer(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Vocab(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<BatchPool> pool_ = std::make_shared<BatchPool>();
};

// The batch fields of an inputs object (docs/model.md §2), in the order callers read them.
// Every field is read (a getter may run JS) before any array is copied, so what is
// validated later is exactly what was passed.
constexpr int kBatchFields = 6;
extern const char* const kBatchFieldNames[kBatchFields];
// Copies the batch arrays read from JS (vals in kBatchFieldNames order) into b, reusing
// its capacity; the model's maxLen fixes T.
void copyBatchFields(const Napi::Value* vals, const Config& c, BatchData& b);

// A prepared call reaches JS as a type-tagged External (cheaper than an object with a
// class: one is made per call); runCall(call) queues it, once.
Napi::Value wrapCall(Napi::Env env, std::unique_ptr<AsyncJob> job, const char* name);
Napi::Value RunCall(const Napi::CallbackInfo& info);

}  // namespace dien
