// The training pass against central finite differences in float64 (docs/model.md §14:
// 1e-6 relative), the float path against the float64 path, the training forward against
// the independent float64 reference (reference.cpp), and Rocket Launching's joint step.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "reference.h"
#include "test_harness.h"
#include "test_util.h"
#include "train/backprop.h"
#include "train/rocket.h"
#include "train/trainer.h"
#include "variants.h"

namespace dien {
namespace test {

namespace {

struct TrainCase {
  TrainBatchData data;
  TrainBatchView view() const { return data.view(); }
};

// A batch with labels and (when the aux net is on) negatives; lengths 0, 1, T and mixed.
TrainCase trainBatch(const Config& c, int64_t B, uint64_t seed) {
  TrainCase tc;
  tc.data.base = randomBatch(c, B, seed);
  std::mt19937_64 rng(seed + 1);
  for (int64_t i = 0; i < B; ++i) tc.data.label.push_back(static_cast<float>(rng() % 2));
  if (needsNegatives(c))
    for (int64_t k = 0; k < B * c.maxLen; ++k) {
      tc.data.negItem.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.itemVocab)));
      tc.data.negCat.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(c.catVocab)));
    }
  return tc;
}

std::vector<double> toDouble(const Weights& w) { return std::vector<double>(w.data(), w.data() + w.totalElements()); }

double lossAt(train::Backprop<double>& bp, const Weights& w, std::vector<double>& values, const TrainBatchView& b) {
  train::PassResult<double> r;
  bp.run(train::Params<double>{&w, values.data()}, b, r);
  return r.loss;
}

// Elements of tensor i to probe: a few random ones, and for tables rows the batch reads.
std::vector<int64_t> probes(const TensorSpec& s, const std::vector<double>& grad, std::mt19937_64& rng) {
  std::vector<int64_t> idx;
  const int64_t n = s.numel();
  if (train::isTable(s.kind)) {
    for (int64_t k = 0; k < n && idx.size() < 8; ++k)
      if (grad[k] != 0) idx.push_back(k);
  }
  for (int k = 0; k < 6; ++k) idx.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(n)));
  return idx;
}

}  // namespace

TEST(training_gradients_match_finite_differences_in_float64) {
  int checked = 0, variant = 0;
  for (auto& [name, cfg] : variants()) {
    // Narrow layers and short histories keep the thousands of finite-difference passes quick
    // (the float32 test below runs every variant at full width).
    Config c = cfg;
    c.maxLen = 6;
    c.hidden = std::min(c.hidden, 12);
    if (c.mlpHidden == std::vector<int>{200, 80}) c.mlpHidden = {12, 6};
    if (c.attentionHidden == std::vector<int>{80, 40}) c.attentionHidden = {10, 6};
    if (c.auxHidden == std::vector<int>{100, 50}) c.auxHidden = {10, 6};
    Weights w(c);
    randomizeWeights(w, 7);
    const TrainCase tc = trainBatch(c, 5, 11);
    TrainBatchView b = tc.view();
    // Every other variant also carries a Rocket Launching hint (docs/model.md §11).
    const std::vector<float> hint = {0.3f, -1.2f, 2.0f, 0.0f, -0.4f};
    if (variant++ % 2 == 1) {
      b.hint = hint.data();
      b.nHint = hint.size();
      b.hintWeight = 0.7;
    }
    validateTrainBatch(c, b);
    std::vector<double> values = toDouble(w);
    train::Backprop<double> bp(c, w, nullptr);
    train::PassResult<double> r;
    bp.run(train::Params<double>{&w, values.data()}, b, r);
    CHECK_MSG(std::isfinite(r.loss), cat(name, ": loss ", r.loss));
    CHECK_MSG(!needsNegatives(c) || r.auxLoss > 0, cat(name, ": aux loss ", r.auxLoss));
    CHECK_MSG((b.hint != nullptr) == (r.hintLoss > 0), cat(name, ": hint loss ", r.hintLoss));
    const auto grads = train::denseGradients(bp.gradLayout(), r);
    std::mt19937_64 rng(3);
    for (size_t i = 0; i < w.specs().size(); ++i) {
      const TensorSpec& s = w.specs()[i];
      if (!train::isTrainable(s.kind)) {
        CHECK(grads[i].empty());
        continue;
      }
      double num = 0, den = 0;
      for (const int64_t k : probes(s, grads[i], rng)) {
        const size_t at = w.offsetAt(i) + static_cast<size_t>(k);
        const double keep = values[at], h = 1e-5 * std::max(1.0, std::fabs(keep));
        values[at] = keep + h;
        const double up = lossAt(bp, w, values, b);
        values[at] = keep - h;
        const double down = lossAt(bp, w, values, b);
        values[at] = keep;
        const double fd = (up - down) / (2 * h), g = grads[i][static_cast<size_t>(k)];
        num += (fd - g) * (fd - g);
        den += fd * fd;
      }
      // Below 1e-4 the loss's rounding (~1e-16 / h) dominates a difference quotient: there
      // the bound is absolute, still far below any real error in a gradient that small.
      const double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-4);
      if (std::getenv("DIEN_TEST_VERBOSE"))
        std::printf("  %s %s: %.3g (|g| %.3g)\n", name.c_str(), s.name.c_str(), rel, std::sqrt(den));
      CHECK_MSG(rel <= 1e-6, cat(name, ": ", s.name, " gradient differs from finite differences by ", rel));
      ++checked;
    }
  }
  CHECK(checked > 300);
}

TEST(float_training_pass_matches_float64) {
  for (auto& [name, c] : variants()) {
    Weights w(c);
    randomizeWeights(w, 5);
    const TrainCase tc = trainBatch(c, 40, 21);
    const TrainBatchView b = tc.view();
    std::vector<double> values = toDouble(w);
    train::Backprop<double> bp64(c, w, nullptr);
    train::PassResult<double> r64;
    bp64.run(train::Params<double>{&w, values.data()}, b, r64);
    ThreadPool pool(2);
    train::Backprop<float> bp32(c, w, &pool);
    train::PassResult<float> r32;
    bp32.run(train::Params<float>{&w, w.data()}, b, r32);
    CHECK_MSG(std::fabs(r32.loss - r64.loss) <= 1e-5 * std::fabs(r64.loss),
              cat(name, ": loss ", r32.loss, " vs ", r64.loss));
    CHECK_MSG(relativeError(r32.logits, r64.logits) <= 1e-5, cat(name, ": logits"));
    const auto g32 = train::denseGradients(bp32.gradLayout(), r32);
    const auto g64 = train::denseGradients(bp64.gradLayout(), r64);
    for (size_t i = 0; i < g64.size(); ++i) {
      // Some true gradients are exactly 0 (a scorer's last bias: softmax ignores a shift);
      // the float path's rounding there is measured against a floor.
      double num = 0, den = 0;
      for (size_t k = 0; k < g64[i].size(); ++k) {
        num += (g32[i][k] - g64[i][k]) * (g32[i][k] - g64[i][k]);
        den += g64[i][k] * g64[i][k];
      }
      const double rel = std::sqrt(num) / std::max(std::sqrt(den), 1e-3);
      CHECK_MSG(rel <= 1e-4, cat(name, ": ", w.specs()[i].name, " float gradient off by ", rel));
    }
  }
}

TEST(training_forward_matches_the_float64_reference) {
  // Without batch statistics (no Dice, no bn) training-mode logits are inference logits.
  for (auto& [name, cfg] : variants()) {
    Config c = cfg;
    c.activation = Activation::Prelu;
    c.mlpBn = false;
    Weights w(c);
    randomizeWeights(w, 9);
    const TrainCase tc = trainBatch(c, 12, 4);
    std::vector<double> values = toDouble(w);
    train::Backprop<double> bp(c, w, nullptr);
    train::PassResult<double> r;
    bp.run(train::Params<double>{&w, values.data()}, tc.view(), r);
    const std::vector<double> ref = referenceForward(c, w, tc.data.base.view(), true);
    CHECK_MSG(relativeError(r.logits, ref) <= 1e-12, cat(name, ": training logits differ from the reference"));
  }
}

TEST(training_pass_is_identical_for_any_thread_count) {
  const Config c = variants()[8].second;  // dien
  Weights w(c);
  randomizeWeights(w, 2);
  const TrainCase tc = trainBatch(c, 37, 8);
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    train::Backprop<float> bp(c, w, &pool);
    train::PassResult<float> r;
    bp.run(train::Params<float>{&w, w.data()}, tc.view(), r);
    auto g = train::denseGradients(bp.gradLayout(), r);
    if (first.empty())
      first = g;
    else
      for (size_t i = 0; i < g.size(); ++i) CHECK_MSG(g[i] == first[i], cat(threads, " threads: ", w.specs()[i].name));
  }
}

TEST(training_batch_validation_names_field_index_and_value) {
  const Config c = variants()[8].second;  // dien, aux on
  TrainCase tc = trainBatch(c, 4, 1);
  tc.data.label[2] = 0.5f;
  expectThrow<InputError>([&] { validateTrainBatch(c, tc.view()); }, "label[2]: expected 0 or 1 but got 0.5");
  tc.data.label[2] = 1;
  tc.data.negItem[7] = -3;
  expectThrow<InputError>([&] { validateTrainBatch(c, tc.view()); }, "negItem[0, 7]: id -3");
  tc.data.negItem.clear();
  tc.data.negCat.clear();
  expectThrow<InputError>([&] { validateTrainBatch(c, tc.view()); }, "negItem and negCat are required");
  tc = trainBatch(c, 4, 1);
  const std::vector<float> hint = {0, 1, NAN, 2};
  TrainBatchView b = tc.view();
  b.hint = hint.data();
  b.nHint = 3;
  b.hintWeight = 0.1;
  expectThrow<InputError>([&] { validateTrainBatch(c, b); }, "hint: expected 4 elements but got 3");
  b.nHint = 4;
  expectThrow<InputError>([&] { validateTrainBatch(c, b); }, "hint[2]: expected a finite logit but got nan");
  b.hintWeight = -1;
  expectThrow<InputError>([&] { validateTrainBatch(c, b); }, "hintWeight: expected a finite number >= 0 but got -1");
}

namespace {

std::shared_ptr<Engine> engineOf(const Config& c, uint64_t seed) {
  EngineOptions o;
  o.threads = 2;
  o.device = "cpu";
  return Engine::create(c, seed, o);
}

bool sameValues(const Weights& a, const Weights& b, TensorKind k, int layer = 0) {
  const TensorSpec& s = a.spec(k, layer);
  return std::equal(a.get(k, layer), a.get(k, layer) + s.numel(), b.get(k, layer));
}

}  // namespace

// The gradient block (docs/model.md §11): the hint reaches the light net and the shared
// embeddings, never the booster's own tensors. After one joint step the booster's
// non-embedding tensors equal, bit for bit, those of the same booster after one plain Adam
// step; its embedding rows carry the light net's gradient too, and the light net's
// embedding tables stay the booster's.
TEST(rocket_hint_does_not_update_the_booster) {
  const Config cb = smallConfig(ModelKind::Dien, 12), cl = smallConfig(ModelKind::Dien, 6);
  const TrainCase tc = trainBatch(cb, 16, 3);
  AdamOptions adam;
  adam.lr = 0.01;
  adam.embeddingL2 = 1e-3;
  adam.clipNorm = 0.05;  // below both nets' gradient norms: each is clipped by its own
  auto booster = engineOf(cb, 1), light = engineOf(cl, 2), plain = engineOf(cb, 1);
  RocketOptions ro;
  ro.adam = adam;
  ro.lambda = 0.5;
  RocketTrainer rocket(booster, light, ro);
  Trainer trainer(plain, adam);
  const RocketStepResult r = rocket.step(tc.view());
  const StepResult p = trainer.step(tc.view());
  CHECK_MSG(p.gradNorm > adam.clipNorm && r.gradNorm > p.gradNorm,
            cat("gradient norms ", p.gradNorm, ", ", r.gradNorm));
  CHECK_MSG(r.boosterBce == p.bceLoss && r.boosterAux == p.auxLoss,
            cat("booster loss ", r.boosterBce, " vs ", p.bceLoss));
  CHECK_MSG(r.hintLoss > 0, cat("hint loss ", r.hintLoss));
  CHECK(std::fabs(r.loss - (r.boosterBce + r.boosterAux + r.lightBce + r.lightAux + 0.5 * r.hintLoss)) <= 1e-9);
  int same = 0;
  bool embeddingsMoved = false;
  for (const TensorSpec& s : booster->weights().specs()) {
    if (!train::isTrainable(s.kind)) continue;
    const bool equal = sameValues(booster->weights(), plain->weights(), s.kind, s.layer);
    if (train::isEmbedding(s.kind))
      embeddingsMoved |= !equal;
    else {
      CHECK_MSG(equal, cat(s.name, ": the hint changed a booster tensor"));
      ++same;
    }
  }
  CHECK(same > 20);
  CHECK_MSG(embeddingsMoved, "the shared embedding rows did not take the light net's gradient");
  for (int i = 0; i < 2; ++i) rocket.step(trainBatch(cb, 16, 10 + i).view());
  for (const TensorKind k : {TensorKind::ItemEmbedding, TensorKind::CatEmbedding, TensorKind::UserEmbedding})
    CHECK_MSG(sameValues(booster->weights(), light->weights(), k), "the light net's embeddings left the booster's");
  CHECK(rocket.steps() == 3);
}

TEST(rocket_refuses_nets_that_cannot_share_an_embedding_layer) {
  const Config cb = smallConfig(ModelKind::Dien, 12);
  auto booster = engineOf(cb, 1);
  RocketOptions ro;
  Config cl = smallConfig(ModelKind::Dien, 6);
  cl.dItem = 16;
  expectThrow<ConfigError>([&] { RocketTrainer(booster, engineOf(cl, 2), ro); },
                           "light.dItem: 16 differs from the booster's 18");
  cl = smallConfig(ModelKind::DienAugru, 6);  // no aux loss: different batches
  expectThrow<ConfigError>([&] { RocketTrainer(booster, engineOf(cl, 2), ro); }, "aux negatives");
  expectThrow<ConfigError>([&] { RocketTrainer(booster, booster, ro); }, "a different model");
  ro.lambda = -1;
  expectThrow<InputError>([&] { RocketTrainer(booster, engineOf(smallConfig(ModelKind::Dien, 6), 2), ro); },
                          "lambda: expected a finite number >= 0 but got -1");
  ro.lambda = 0.03;
  TrainCase tc = trainBatch(cb, 4, 1);
  TrainBatchView b = tc.view();
  const std::vector<float> hint(4, 0.0f);
  b.hint = hint.data();
  b.nHint = 4;
  b.hintWeight = 1;
  RocketTrainer r2(booster, engineOf(smallConfig(ModelKind::Dien, 6), 2), ro);
  expectThrow<InputError>([&] { r2.step(b); }, "makes its own");
}

}  // namespace test
}  // namespace dien
