#include "engine.h"

#include <cmath>
#include <thread>

#include "../common/errors.h"
#include "../cpu/cpu_backend.h"
#include "../cuda/cuda_backend.h"
#include "../cuda/device_probe.h"
#include "safetensors.h"
#include "weight_file.h"

namespace dien {

const char* const kQuantisedDoesNotTrain =
    "this model's tables are quantised (fp16 / int8): it serves but does not train; train the float32 model and "
    "quantise it again";

namespace {
int resolveThreads(int requested) {
  if (requested < 0 || requested > 1024) throw InputError(cat("threads: expected 0..1024 but got ", requested));
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

// Logits in, checked, probabilities (or the logits) out. The sigmoid is in double: the
// probability is the one value users read directly.
void finish(float* out, int64_t n, bool logits, const char* what) {
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(out[i]))
      throw NonFiniteError(cat(what, " ", i, ": the logit is ", out[i],
                               ", not a finite number: the model's weights overflow float32 arithmetic "
                               "(docs/model.md §14)"));
    if (!logits) out[i] = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(out[i]))));
  }
}
}  // namespace

Engine::Engine(const Config& c, std::unique_ptr<Weights> w, const EngineOptions& opts, std::string vocab)
    : config_(c), weights_(std::move(w)), vocab_(std::move(vocab)) {
  const int threads = resolveThreads(opts.threads);
  threads_ = threads;
  const std::string& device = opts.device;
  const bool fromEnv = opts.deviceFromEnvironment;
  if (device != "auto" && device != "cpu" && device != "cuda") {
    const std::string msg =
        cat(fromEnv ? "DIEN_DEVICE" : "device", ": expected \"auto\", \"cpu\" or \"cuda\" but got \"", device, "\"");
    if (fromEnv) throw ConfigError(msg);  // the environment, not the caller's argument
    throw InputError(msg);
  }
  if (device == "cpu") {
    reason_ = fromEnv ? "DIEN_DEVICE=cpu" : "device \"cpu\" requested";
  } else {
    // auto uses CUDA only when a device really works: a driver, a device, a test allocation.
    const CudaStatus cuda = probeCuda();
    if (!cuda.usable) {
      if (device == "cuda") throw ConfigError(cat("device \"cuda\" requested but unavailable: ", cuda.reason));
      reason_ = cat("auto: ", cuda.reason, "; using the CPU");
    } else {
      try {
        backend_ = makeCudaBackend(config_, *weights_);
        backendName_ = "cuda";
        reason_ = cat(device == "cuda" ? "device \"cuda\" requested: " : "auto: ", cuda.reason);
      } catch (const std::exception& e) {
        if (device == "cuda") throw;
        reason_ = cat("auto: the CUDA backend could not start (", e.what(), "); using the CPU");
      }
    }
  }
  if (!backend_) {
    backend_ = std::make_unique<CpuBackend>(config_, *weights_, threads);
    backendName_ = "cpu";
  }
}

std::shared_ptr<Engine> Engine::fromSafetensors(const uint8_t* bytes, size_t size, const EngineOptions& opts) {
  return fromLoaded(readSafetensors(bytes, size), opts);
}

std::shared_ptr<Engine> Engine::fromFile(const std::string& path, const EngineOptions& opts) {
  try {
    if (opts.mmap) return fromLoaded(mapSafetensors(MappedFile::open(path)), opts);
    LoadedWeights lw;
    {  // the file's bytes go before the backend (and its scratch memory) is built
      const std::vector<uint8_t> bytes = readFile(path);
      lw = readSafetensors(bytes.data(), bytes.size());
    }
    return fromLoaded(std::move(lw), opts);
  } catch (const CodedError& e) {  // a bad file names itself
    if (e.code != ErrorCode::BadWeights && e.code != ErrorCode::BadConfig) throw;
    throw CodedError(e.code, cat(path, ": ", e.what()));
  }
}

std::shared_ptr<Engine> Engine::fromLoaded(LoadedWeights lw, const EngineOptions& opts) {
  return std::shared_ptr<Engine>(new Engine(lw.config, std::move(lw.weights), opts, std::move(lw.vocab)));
}

std::shared_ptr<Engine> Engine::create(const Config& c, uint64_t seed, const EngineOptions& opts, std::string vocab) {
  c.validate();
  auto w = std::make_unique<Weights>(c);
  initWeights(c, *w, seed);
  return std::shared_ptr<Engine>(new Engine(c, std::move(w), opts, std::move(vocab)));
}

void Engine::predict(const BatchView& b, float* out, bool logits) {
  validateBatch(config_, b);
  std::lock_guard<std::mutex> lock(mutex_);
  backend_->predict(b, out);
  finish(out, b.batch, logits, "sample");
}

void Engine::scoreRequests(const RequestsView& r, float* out, bool logits) {
  validateRequests(config_, r);
  std::lock_guard<std::mutex> lock(mutex_);
  backend_->scoreRequests(r, out);
  finish(out, r.candidates(), logits, "candidate");
}

std::vector<uint8_t> Engine::save(StorageType dtype, const std::string* vocab) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return writeSafetensors(config_, *weights_, nullptr, vocab ? *vocab : vocab_, dtype);
}

std::vector<uint8_t> Engine::saveWith(const CheckpointView& extras, const std::string* vocab) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return writeSafetensors(config_, *weights_, &extras, vocab ? *vocab : vocab_);
}

const train::GradLayout& Engine::gradLayout() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (weights_->anyQuantized()) throw ConfigError(kQuantisedDoesNotTrain);
  if (weights_->readOnly()) {  // a read-only mapping: training needs values of its own
    weights_->ownValues();
    backend_->weightsChanged();
  }
  if (!backprop_) {
    // Training threads are made on first use: a serving-only model never starts them.
    trainPool_ = std::make_unique<ThreadPool>(threads_);
    backprop_ = std::make_unique<train::Backprop<float>>(config_, *weights_, trainPool_.get());
  }
  return backprop_->gradLayout();
}

void Engine::trainingPass(const TrainBatchView& b, train::PassResult<float>& out) {
  backprop_->run(train::Params<float>{weights_.get(), weights_->data()}, b, out);
  auto bad = [](double v) { return !std::isfinite(v); };
  if (bad(out.loss))
    throw NonFiniteError(cat("training: the loss is ", out.loss, " (bce ", out.bceLoss, ", aux ", out.auxLoss,
                             "), not a finite number; nothing was changed"));
  for (size_t i = 0; i < out.dense.size(); ++i)
    if (bad(out.dense[i]))
      throw NonFiniteError(cat("training: gradient element ", i, " is ", out.dense[i], "; nothing was changed"));
  for (const auto& t : out.tables)
    for (const float v : t.values)
      if (bad(v)) throw NonFiniteError(cat("training: a table gradient is ", v, "; nothing was changed"));
}

void Engine::lossAndGradients(const TrainBatchView& b, train::PassResult<float>& out) {
  validateTrainBatch(config_, b);
  gradLayout();
  std::lock_guard<std::mutex> lock(mutex_);
  trainingPass(b, out);
}

void Engine::trainStep(const TrainBatchView& b, train::PassResult<float>& out, const Update& update) {
  validateTrainBatch(config_, b);
  gradLayout();
  std::lock_guard<std::mutex> lock(mutex_);
  trainingPass(b, out);
  update(out, backprop_->gradLayout(), *weights_);
  backend_->weightsChanged();
}

}  // namespace dien
