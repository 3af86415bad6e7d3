// The engine behind one model handle: config, weights and the backend that runs them.
// Every entry point validates what it receives; nothing here trusts the caller.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend.h"
#include "batch.h"
#include "config.h"
#include "weights.h"

namespace dien {

// Read from the caller and the environment by the TypeScript layer (once per model) and
// passed down: the engine never reads the environment itself.
struct EngineOptions {
  int threads = 0;                     // 0: one per hardware thread
  std::string device = "auto";         // "auto" | "cpu" | "cuda"
  bool deviceFromEnvironment = false;  // device came from DIEN_DEVICE: messages name the variable
};

class Engine {
 public:
  static std::shared_ptr<Engine> fromSafetensors(const uint8_t* bytes, size_t size, const EngineOptions& opts);
  static std::shared_ptr<Engine> create(const Config& c, uint64_t seed, const EngineOptions& opts);

  const Config& config() const { return config_; }
  const Weights& weights() const { return *weights_; }
  int64_t parameters() const { return weights_->totalElements(); }
  const std::string& backend() const { return backendName_; }
  const std::string& backendReason() const { return reason_; }
  int threads() const { return backend_->threads(); }

  // out[i] = probability (or logit) of sample / candidate i. Validates the input first;
  // throws NonFiniteError when a logit is not finite (docs/model.md §14).
  void predict(const BatchView& b, float* out, bool logits);
  void scoreCandidates(const CandidatesView& v, float* out, bool logits);
  std::vector<uint8_t> save() const;

 private:
  Engine(const Config& c, std::unique_ptr<Weights> w, const EngineOptions& opts);
  Config config_;
  std::unique_ptr<Weights> weights_;
  std::unique_ptr<Backend> backend_;
  std::string backendName_, reason_;
};

}  // namespace dien
