#include "trainer.h"

#include <cmath>

#include "../common/errors.h"
#include "../common/json.h"

namespace dien {

namespace {

void checkOption(const char* name, double v, bool ok, const char* rule) {
  if (!std::isfinite(v) || !ok) throw InputError(cat(name, ": expected ", rule, " but got ", v));
}

bool isEmbedding(TensorKind k) {
  return k == TensorKind::ItemEmbedding || k == TensorKind::CatEmbedding || k == TensorKind::UserEmbedding;
}

// One Adam update of n values (PyTorch's formulation, bias corrections folded). The
// gradient is scale * (g + l2 * w): L2 (embedding rows only) and clipping applied here.
inline void adam(size_t n, float* w, float* m, float* v, const float* g, float scale, float l2, float b1, float b2,
                 float stepSize, float sqrtBc2, float eps) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float gi = (g[i] + l2 * w[i]) * scale;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    w[i] -= stepSize * m[i] / (std::sqrt(v[i]) / sqrtBc2 + eps);
  }
}

double number(const Json& j, const char* key) {
  const Json* v = j.find(key);
  if (!v || !v->isNumber()) throw FormatError(cat("checkpoint: __metadata__.trainer has no number \"", key, "\""));
  return v->asNumber();
}

}  // namespace

void AdamOptions::validate() const {
  checkOption("lr", lr, lr > 0, "a number > 0");
  checkOption("betas[0]", beta1, beta1 >= 0 && beta1 < 1, "a number in [0, 1)");
  checkOption("betas[1]", beta2, beta2 >= 0 && beta2 < 1, "a number in [0, 1)");
  checkOption("eps", eps, eps > 0, "a number > 0");
  checkOption("embeddingL2", embeddingL2, embeddingL2 >= 0, "a number >= 0");
  checkOption("clipNorm", clipNorm, clipNorm >= 0, "a number >= 0 (0: no clipping)");
  checkOption("lrDecay", lrDecay, lrDecay > 0 && lrDecay <= 1, "a number in (0, 1]");
}

Trainer::Trainer(std::shared_ptr<Engine> engine, const AdamOptions& o) : engine_(std::move(engine)), opts_(o) {
  opts_.validate();
  lr_ = opts_.lr;
}

Trainer::Trainer(std::shared_ptr<Engine> engine, CheckpointState state) : engine_(std::move(engine)) {
  Json j;
  try {
    j = Json::parse(state.trainer, "__metadata__.trainer");
  } catch (const JsonError& e) {
    throw FormatError(cat("checkpoint: ", e.what()));
  }
  if (!j.isObject()) throw FormatError("checkpoint: __metadata__.trainer is not a JSON object");
  const Json* options = j.find("options");
  if (!options || !options->isObject()) throw FormatError("checkpoint: __metadata__.trainer has no \"options\" object");
  for (const AdamField& f : kAdamFields) opts_.*f.second = number(*options, f.first);
  try {
    opts_.validate();
  } catch (const InputError& e) {
    throw FormatError(cat("checkpoint: __metadata__.trainer.", e.what()));
  }
  const double step = number(j, "step"), epoch = number(j, "epoch");
  lr_ = number(j, "lr");
  if (!(step >= 0 && step < 9e15 && std::floor(step) == step) || !(epoch >= 0 && std::floor(epoch) == epoch) ||
      !(lr_ > 0 && std::isfinite(lr_)))
    throw FormatError(cat("checkpoint: __metadata__.trainer holds step ", step, ", epoch ", epoch, ", lr ", lr_));
  step_ = static_cast<int64_t>(step);
  epoch_ = static_cast<int64_t>(epoch);
  m_ = std::move(state.m);
  v_ = std::move(state.v);
}

std::string Trainer::stateJson() const {
  Json j = Json::object();
  j.set("step", Json::number(static_cast<double>(step_)));
  j.set("epoch", Json::number(static_cast<double>(epoch_)));
  j.set("lr", Json::number(lr_));
  Json options = Json::object();
  for (const AdamField& f : kAdamFields) options.set(f.first, Json::number(opts_.*f.second));
  j.set("options", options);
  return j.dump();
}

void Trainer::ensureState() {
  if (m_) return;
  m_ = std::make_unique<Weights>(engine_->config());
  v_ = std::make_unique<Weights>(engine_->config());
}

StepResult Trainer::step(const TrainBatchView& b) {
  ensureState();
  StepResult res;
  train::PassResult<float>& pass = pass_;
  engine_->trainStep(b, pass, [&](const train::PassResult<float>& r, const train::GradLayout& gl, Weights& w) {
    const std::vector<TensorSpec>& specs = w.specs();
    // The global norm over everything updated, L2 on the embedding rows read included.
    const float l2 = static_cast<float>(opts_.embeddingL2);
    double sq = 0;
    for (const float g : r.dense) sq += static_cast<double>(g) * g;
    for (const auto& t : r.tables) {
      const bool decay = l2 > 0 && isEmbedding(t.kind);
      const float* table = w.get(t.kind);
      for (size_t k = 0; k < t.rows.size(); ++k)
        for (int j = 0; j < t.width; ++j) {
          const float wv = decay ? table[static_cast<size_t>(t.rows[k]) * t.width + j] : 0.0f;
          const double g = t.values[k * t.width + j] + l2 * wv;
          sq += g * g;
        }
    }
    res.gradNorm = std::sqrt(sq);
    const float scale =
        opts_.clipNorm > 0 && res.gradNorm > opts_.clipNorm ? static_cast<float>(opts_.clipNorm / res.gradNorm) : 1.0f;
    ++step_;
    const double bc1 = 1.0 - std::pow(opts_.beta1, static_cast<double>(step_));
    const double bc2 = 1.0 - std::pow(opts_.beta2, static_cast<double>(step_));
    const float stepSize = static_cast<float>(lr_ / bc1), sqrtBc2 = static_cast<float>(std::sqrt(bc2));
    const float b1 = static_cast<float>(opts_.beta1), b2 = static_cast<float>(opts_.beta2);
    const float eps = static_cast<float>(opts_.eps);
    for (size_t i = 0; i < specs.size(); ++i) {
      if (gl.offset[i] < 0) continue;
      adam(static_cast<size_t>(specs[i].numel()), w.at(i), m_->at(i), v_->at(i), r.dense.data() + gl.offset[i], scale,
           0.0f, b1, b2, stepSize, sqrtBc2, eps);
    }
    for (const auto& tg : r.tables) {
      const size_t width = static_cast<size_t>(tg.width);
      const float rowL2 = isEmbedding(tg.kind) ? l2 : 0.0f;
      for (size_t k = 0; k < tg.rows.size(); ++k) {
        const size_t off = static_cast<size_t>(tg.rows[k]) * width;
        adam(width, w.get(tg.kind) + off, m_->get(tg.kind) + off, v_->get(tg.kind) + off, tg.values.data() + k * width,
             scale, rowL2, b1, b2, stepSize, sqrtBc2, eps);
      }
    }
    // Running statistics: r <- 0.99 r + 0.01 batch (docs/model.md §7).
    for (const auto& st : r.stats) {
      float* mean = w.get(st.meanKind, st.layer);
      float* var = w.get(st.varKind, st.layer);
      for (size_t j = 0; j < st.mean.size(); ++j) {
        mean[j] = 0.99f * mean[j] + 0.01f * st.mean[j];
        var[j] = 0.99f * var[j] + 0.01f * st.var[j];
      }
    }
  });
  res.loss = pass.loss;
  res.bceLoss = pass.bceLoss;
  res.auxLoss = pass.auxLoss;
  return res;
}

void Trainer::endEpoch() {
  ++epoch_;
  lr_ *= opts_.lrDecay;
}

std::vector<uint8_t> Trainer::save() const {
  CheckpointView st;
  st.trainer = stateJson();
  std::unique_ptr<Weights> zero;
  if (!m_) zero = std::make_unique<Weights>(engine_->config());  // no step yet: zero moments
  st.m = m_ ? m_.get() : zero.get();
  st.v = v_ ? v_.get() : zero.get();
  return engine_->saveWith(st);
}

}  // namespace dien
