#include "trainer.h"

#include <cmath>

#include "../common/errors.h"
#include "../common/json.h"

namespace dien {

namespace {

double number(const Json& j, const char* key) {
  const Json* v = j.find(key);
  if (!v || !v->isNumber()) throw FormatError(cat("checkpoint: __metadata__.trainer has no number \"", key, "\""));
  return v->asNumber();
}

}  // namespace

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
  if (m_ && v_) return;
  // Both or neither: a failed second allocation must not leave a half state behind.
  auto m = std::make_unique<Weights>(engine_->config());
  auto v = std::make_unique<Weights>(engine_->config());
  m_ = std::move(m);
  v_ = std::move(v);
}

StepResult Trainer::step(const TrainBatchView& b) {
  ensureState();
  StepResult res;
  train::PassResult<float>& pass = pass_;
  engine_->trainStep(b, pass, [&](const train::PassResult<float>& r, const train::GradLayout& gl, Weights& w) {
    const std::vector<TensorSpec>& specs = w.specs();
    // The global norm over everything updated, L2 on the embedding rows read included.
    const float l2 = static_cast<float>(opts_.embeddingL2);
    res.gradNorm = std::sqrt(train::gradientSquares(r, w, l2));
    const float scale = train::clipScale(opts_, res.gradNorm);
    const train::AdamStep k(opts_, lr_, ++step_);
    for (size_t i = 0; i < specs.size(); ++i) {
      if (gl.offset[i] < 0) continue;
      train::adam(static_cast<size_t>(specs[i].numel()), w.at(i), m_->at(i), v_->at(i), r.dense.data() + gl.offset[i],
                  scale, 0.0f, k);
    }
    for (const auto& tg : r.tables) {
      const size_t width = static_cast<size_t>(tg.width);
      const float rowL2 = train::isEmbedding(tg.kind) ? l2 : 0.0f;
      for (size_t j = 0; j < tg.rows.size(); ++j) {
        const size_t off = static_cast<size_t>(tg.rows[j]) * width;
        train::adam(width, w.get(tg.kind) + off, m_->get(tg.kind) + off, v_->get(tg.kind) + off,
                    tg.values.data() + j * width, scale, rowL2, k);
      }
    }
    train::updateRunningStats(r, w);
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

std::vector<uint8_t> Trainer::save(const std::string* vocab) const {
  CheckpointView st;
  st.trainer = stateJson();
  std::unique_ptr<Weights> zero;
  if (!m_) zero = std::make_unique<Weights>(engine_->config());  // no step yet: zero moments
  st.m = m_ ? m_.get() : zero.get();
  st.v = v_ ? v_.get() : zero.get();
  return engine_->saveWith(st, vocab);
}

}  // namespace dien
