// The engine behind one model handle: config, weights and the backend that runs them.
// Every entry point validates what it receives; nothing here trusts the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../cpu/thread_pool.h"
#include "../train/backprop.h"
#include "backend.h"
#include "batch.h"
#include "config.h"
#include "safetensors.h"
#include "weights.h"

namespace dien {

// Read from the caller and the environment by the TypeScript layer (once per model) and
// passed down: the engine never reads the environment itself.
struct EngineOptions {
  int threads = 0;                     // 0: one per hardware thread
  std::string device = "auto";         // "auto" | "cpu" | "cuda"
  bool deviceFromEnvironment = false;  // device came from DIEN_DEVICE: messages name the variable
  bool mmap = true;                    // load a path by mapping it (docs/model.md §12), not by reading it
};

// Why a model loaded from a quantised file refuses training.
extern const char* const kQuantisedDoesNotTrain;

class Engine {
 public:
  static std::shared_ptr<Engine> fromSafetensors(const uint8_t* bytes, size_t size, const EngineOptions& opts);
  static std::shared_ptr<Engine> fromLoaded(LoadedWeights lw, const EngineOptions& opts);
  // A weight file by path: mapped (opts.mmap) or read.
  static std::shared_ptr<Engine> fromFile(const std::string& path, const EngineOptions& opts);
  // vocab: the vocabularies' JSON text to carry in saved files (may be empty).
  static std::shared_ptr<Engine> create(const Config& c, uint64_t seed, const EngineOptions& opts,
                                        std::string vocab = "");

  const Config& config() const { return config_; }
  const Weights& weights() const { return *weights_; }
  const std::string& vocab() const { return vocab_; }
  int64_t parameters() const { return weights_->elements(); }
  bool mapped() const { return weights_->mapped(); }
  int64_t weightBytes() const { return weights_->bytes(); }
  bool quantized() const { return weights_->anyQuantized(); }
  const std::string& backend() const { return backendName_; }
  const std::string& backendReason() const { return reason_; }
  int threads() const { return backend_->threads(); }

  // out[i] = probability (or logit) of sample / candidate i. Validates the input first;
  // throws NonFiniteError when a logit is not finite (docs/model.md §14).
  void predict(const BatchView& b, float* out, bool logits);
  // Results in candidate order, out[candOff[R]] (docs/model.md §15).
  void scoreRequests(const RequestsView& r, float* out, bool logits);
  // dtype F16 / I8: a quantised file (docs/model.md §12). vocab, when given, is what
  // __metadata__.vocab holds instead of vocab() (the caller may keep the vocabularies in
  // a file of their own and write a reference to it: lib/vocab-file.ts).
  std::vector<uint8_t> save(StorageType dtype = StorageType::F32, const std::string* vocab = nullptr) const;
  // The weights plus a trainer's state (train/trainer.h), under the engine's lock.
  std::vector<uint8_t> saveWith(const CheckpointView& extras, const std::string* vocab = nullptr) const;

  // Training runs on the CPU whatever backend serves. lossAndGradients validates the batch
  // and computes the training-mode loss and every gradient, changing nothing. trainStep
  // does the same, then calls update(result, its layout, weights) and refreshes the backend, all
  // under the engine's lock: no predict sees half-updated weights. Non-finite loss or
  // gradients throw NonFiniteError before update runs.
  using Update = std::function<void(const train::PassResult<float>&, const train::GradLayout&, Weights&)>;
  void lossAndGradients(const TrainBatchView& b, train::PassResult<float>& out);
  void trainStep(const TrainBatchView& b, train::PassResult<float>& out, const Update& update);
  const train::GradLayout& gradLayout();

 private:
  // A Rocket Launching step locks two engines at once and runs both passes before one
  // update (train/rocket.h).
  friend class RocketTrainer;
  Engine(const Config& c, std::unique_ptr<Weights> w, const EngineOptions& opts, std::string vocab);
  void trainingPass(const TrainBatchView& b, train::PassResult<float>& out);

  mutable std::mutex mutex_;  // one call at a time; training writes the weights
  Config config_;
  int threads_ = 1;
  std::unique_ptr<ThreadPool> trainPool_;
  std::unique_ptr<train::Backprop<float>> backprop_;
  std::unique_ptr<Weights> weights_;
  std::string vocab_;
  std::unique_ptr<Backend> backend_;
  std::string backendName_, reason_;
};

}  // namespace dien
