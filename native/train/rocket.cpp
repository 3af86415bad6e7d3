#include "rocket.h"

#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>

#include "../common/errors.h"

namespace dien {

namespace {

constexpr TensorKind kEmbeddings[] = {TensorKind::ItemEmbedding, TensorKind::CatEmbedding, TensorKind::UserEmbedding};

// Why the two nets cannot share one embedding layer (and batches), or "" when they can.
std::string mismatch(const Config& b, const Config& l) {
  auto differs = [](const char* field, int64_t vb, int64_t vl) {
    return cat("light.", field, ": ", vl, " differs from the booster's ", vb,
               "; the two nets share the embedding layer and the batches (docs/model.md §11)");
  };
  if (b.itemVocab != l.itemVocab) return differs("itemVocab", b.itemVocab, l.itemVocab);
  if (b.catVocab != l.catVocab) return differs("catVocab", b.catVocab, l.catVocab);
  if (b.userVocab != l.userVocab) return differs("userVocab", b.userVocab, l.userVocab);
  if (b.dItem != l.dItem) return differs("dItem", b.dItem, l.dItem);
  if (b.dCat != l.dCat) return differs("dCat", b.dCat, l.dCat);
  if (b.dUser != l.dUser) return differs("dUser", b.dUser, l.dUser);
  if (b.maxLen != l.maxLen) return differs("maxLen", b.maxLen, l.maxLen);
  if (needsNegatives(b) != needsNegatives(l))
    return cat("light: the booster ", needsNegatives(b) ? "reads" : "does not read",
               " aux negatives but the light net ", needsNegatives(l) ? "does" : "does not",
               "; both need the same batches (auxAlpha > 0 on both GRU models, "
               "or on neither)");
  return "";
}

// Runs fn; a failure that belongs to one net says which.
template <class Fn>
void as(const char* net, Fn&& fn) {
  try {
    fn();
  } catch (const NonFiniteError& e) {
    throw NonFiniteError(cat(net, ": ", e.what()));
  } catch (const ConfigError& e) {
    throw ConfigError(cat(net, ": ", e.what()));
  }
}

// Adam moments per spec index, all allocated before any is kept: a failed allocation
// leaves none. skipEmbeddings: the light net's (the shared rows' live on the booster's side).
void allocateMoments(const Weights& w, bool skipEmbeddings, std::vector<std::vector<float>>& m,
                     std::vector<std::vector<float>>& v) {
  if (!m.empty()) return;
  std::vector<std::vector<float>> nm(w.specs().size()), nv(w.specs().size());
  for (size_t i = 0; i < w.specs().size(); ++i) {
    const TensorSpec& s = w.specs()[i];
    if (!train::isTrainable(s.kind) || (skipEmbeddings && train::isEmbedding(s.kind))) continue;
    nm[i].assign(static_cast<size_t>(s.numel()), 0.0f);
    nv[i].assign(static_cast<size_t>(s.numel()), 0.0f);
  }
  m = std::move(nm);
  v = std::move(nv);
}

}  // namespace

void RocketOptions::validate() const {
  adam.validate();
  if (!(std::isfinite(lambda) && lambda >= 0))
    throw InputError(cat("lambda: expected a finite number >= 0 but got ", lambda));
}

RocketTrainer::RocketTrainer(std::shared_ptr<Engine> booster, std::shared_ptr<Engine> light, const RocketOptions& o)
    : booster_(std::move(booster)), light_(std::move(light)), opts_(o) {
  opts_.validate();
  if (!booster_ || !light_) throw InputError("booster, light: two models are required");
  if (booster_ == light_) throw ConfigError("light: the light net must be a different model from the booster");
  const std::string why = mismatch(booster_->config(), light_->config());
  if (!why.empty()) throw ConfigError(why);
  if (booster_->quantized()) throw ConfigError(cat("booster: ", kQuantisedDoesNotTrain));
  if (light_->quantized()) throw ConfigError(cat("light: ", kQuantisedDoesNotTrain));
  lr_ = opts_.adam.lr;
  for (const TensorKind k : kEmbeddings)
    if (booster_->weights().has(k)) {
      const TensorSpec& s = booster_->weights().spec(k);
      shared_.push_back(
          {k, static_cast<int>(s.shape[1]), std::vector<int32_t>(static_cast<size_t>(s.shape[0]), -1), {}, {}});
    }
}

RocketStepResult RocketTrainer::step(const TrainBatchView& b) {
  if (b.hint || b.hintWeight != 0)
    throw InputError("hint: a Rocket Launching step makes its own (the booster's logits)");
  validateTrainBatch(booster_->config(), b);
  validateTrainBatch(light_->config(), b);
  // Both must train: a read-only mapping takes values of its own here, off the JS thread.
  as("booster", [&] { booster_->gradLayout(); });
  as("light", [&] { light_->gradLayout(); });
  allocateMoments(booster_->weights(), false, mB_, vB_);
  allocateMoments(light_->weights(), true, mL_, vL_);

  Engine& eb = *booster_;
  Engine& el = *light_;
  // Both engines at once, deadlock-free whichever order other callers lock them in.
  std::scoped_lock lock(eb.mutex_, el.mutex_);
  Weights& wB = *eb.weights_;
  Weights& wL = *el.weights_;
  if (!synced_) {  // the light net takes the booster's embedding layer before its first pass
    for (const Shared& sh : shared_)
      std::memcpy(wL.get(sh.kind), wB.get(sh.kind), static_cast<size_t>(wB.spec(sh.kind).numel()) * sizeof(float));
    synced_ = true;
  }
  as("booster", [&] { eb.trainingPass(b, passB_); });
  // The gradient block: the booster's training-mode logits enter the light net's pass as
  // constants, after the booster's gradients are final.
  TrainBatchView lb = b;
  lb.hint = passB_.logits.data();
  lb.nHint = passB_.logits.size();
  lb.hintWeight = opts_.lambda;
  as("light", [&] { el.trainingPass(lb, passL_); });

  RocketStepResult res;
  update(passB_, eb.backprop_->gradLayout(), wB, passL_, el.backprop_->gradLayout(), wL, res);
  // Both backends refresh even when one fails; the first failure is reported.
  std::exception_ptr failed;
  for (Engine* e : {&eb, &el}) try {
      e->backend_->weightsChanged();
    } catch (...) {
      if (!failed) failed = std::current_exception();
    }
  if (failed) std::rethrow_exception(failed);
  res.boosterBce = passB_.bceLoss;
  res.boosterAux = passB_.auxLoss;
  res.lightBce = passL_.bceLoss;
  res.lightAux = passL_.auxLoss;
  res.hintLoss = passL_.hintLoss;
  res.loss = passB_.loss + passL_.loss;
  return res;
}

void RocketTrainer::update(const train::PassResult<float>& rb, const train::GradLayout& glB, Weights& wB,
                           const train::PassResult<float>& rl, const train::GradLayout& glL, Weights& wL,
                           RocketStepResult& res) {
  // 1. Each net's gradient is clipped by its own norm, as a plain step would clip it: the
  //    light net's gradient (the hint's included) never scales the booster's step. L2 on
  //    the embedding rows counts on the booster's side, once.
  const float l2 = static_cast<float>(opts_.adam.embeddingL2);
  const bool lightRows = opts_.lightTrainsEmbeddings;
  const double sqB = train::gradientSquares(rb, wB, l2), sqL = train::gradientSquares(rl, wL, 0.0f, lightRows);
  res.gradNorm = std::sqrt(sqB + sqL);
  const float scaleB = train::clipScale(opts_.adam, std::sqrt(sqB));
  const float scaleL = train::clipScale(opts_.adam, std::sqrt(sqL));

  // 2. The shared rows' gradient: the booster's (with L2) plus, unless it only reads
  //    them, the light net's, each scaled.
  for (Shared& sh : shared_) {
    for (const int32_t row : sh.rows) sh.slot[static_cast<size_t>(row)] = -1;
    sh.rows.clear();
    sh.values.clear();
  }
  auto merge = [&](const train::TableGrad<float>& t, float scale, const Weights* decay) {
    for (Shared& sh : shared_) {
      if (sh.kind != t.kind) continue;
      const float* table = decay ? decay->get(sh.kind) : nullptr;
      for (size_t k = 0; k < t.rows.size(); ++k) {
        const size_t row = static_cast<size_t>(t.rows[k]);
        if (sh.slot[row] < 0) {  // the slot is set only once its row and values exist
          sh.values.resize(sh.values.size() + static_cast<size_t>(sh.width), 0.0f);
          sh.rows.push_back(t.rows[k]);
          sh.slot[row] = static_cast<int32_t>(sh.rows.size() - 1);
        }
        float* v = sh.values.data() + static_cast<size_t>(sh.slot[row]) * sh.width;
        const float* g = t.values.data() + k * static_cast<size_t>(sh.width);
        const float* w = table ? table + row * sh.width : nullptr;
        for (int j = 0; j < sh.width; ++j) v[j] += (g[j] + (w ? l2 * w[j] : 0.0f)) * scale;
      }
    }
  };
  for (const auto& t : rb.tables)
    if (train::isEmbedding(t.kind)) merge(t, scaleB, l2 > 0 ? &wB : nullptr);
  if (lightRows)
    for (const auto& t : rl.tables)
      if (train::isEmbedding(t.kind)) merge(t, scaleL, nullptr);

  const train::AdamStep k(opts_.adam, lr_, ++step_);

  // 3. Each net's dense tensors and its own tables (Wide&Deep's wide part).
  auto own = [&](const train::PassResult<float>& r, const train::GradLayout& gl, Weights& w, float scale,
                 std::vector<std::vector<float>>& m, std::vector<std::vector<float>>& v) {
    const std::vector<TensorSpec>& specs = w.specs();
    for (size_t i = 0; i < specs.size(); ++i)
      if (gl.offset[i] >= 0)
        train::adam(static_cast<size_t>(specs[i].numel()), w.at(i), m[i].data(), v[i].data(),
                    r.dense.data() + gl.offset[i], scale, 0.0f, k);
    for (const auto& t : r.tables) {
      if (train::isEmbedding(t.kind)) continue;
      const size_t i = w.indexOf(t.kind, 0), width = static_cast<size_t>(t.width);
      for (size_t j = 0; j < t.rows.size(); ++j) {
        const size_t off = static_cast<size_t>(t.rows[j]) * width;
        train::adam(width, w.at(i) + off, m[i].data() + off, v[i].data() + off, t.values.data() + j * width, scale,
                    0.0f, k);
      }
    }
    train::updateRunningStats(r, w);
  };
  own(rb, glB, wB, scaleB, mB_, vB_);
  own(rl, glL, wL, scaleL, mL_, vL_);

  // 4. The shared rows: one update on the booster's side (its moments), copied across.
  for (Shared& sh : shared_) {
    const size_t i = wB.indexOf(sh.kind, 0), width = static_cast<size_t>(sh.width);
    float* light = wL.get(sh.kind);
    for (size_t j = 0; j < sh.rows.size(); ++j) {
      const size_t off = static_cast<size_t>(sh.rows[j]) * width;
      train::adam(width, wB.at(i) + off, mB_[i].data() + off, vB_[i].data() + off, sh.values.data() + j * width, 1.0f,
                  0.0f, k);
      std::memcpy(light + off, wB.at(i) + off, width * sizeof(float));
    }
  }
}

void RocketTrainer::endEpoch() {
  ++epoch_;
  lr_ *= opts_.adam.lrDecay;
}

}  // namespace dien
