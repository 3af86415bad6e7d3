// Native tests (run by CTest, no Node needed): JSON, config, the tensor table, the CPU
// check, gate math, GEMM, the thread pool, and every model variant of the CPU backend
// against the float64 reference. Weight files: safetensors_tests.cpp; CUDA:
// cuda_parity.cpp and backend_ops.cu.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "common/isa.h"
#include "common/json.h"
#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "model/engine.h"
#include "model/safetensors.h"
#include "model/tensors.h"
#include "ops/gates.h"
#include "reference.h"
#include "test_harness.h"
#include "test_util.h"
#include "variants.h"

using namespace dien;
using namespace dien::test;

TEST(json_parses_and_rejects) {
  const Json j = Json::parse(R"({"a": [1, 2.5, -3e2], "b": {"c": "x\u00e9\n"}, "d": true, "e": null})", "t");
  CHECK(j.find("a")->items().size() == 3);
  CHECK(j.find("a")->items()[2].asNumber() == -300);
  CHECK(j.find("b")->find("c")->asString() == "x\xc3\xa9\n");
  CHECK(Json::parse(j.dump(), "t").dump() == j.dump());
  for (const auto& [text, needle] :
       std::vector<std::pair<std::string, std::string>>{{"{\"a\":1} x", "trailing"},
                                                        {"{\"a\":1,\"a\":2}", "duplicate key"},
                                                        {"[1,", "unexpected end"},
                                                        {std::string(100, '['), "too deep"},
                                                        {"01", "trailing"},
                                                        {"1e999", "out of range"},
                                                        {"-", "bad number"}})
    expectThrow<JsonError>([&] { Json::parse(text, "t"); }, needle);
}

TEST(json_numbers_round_trip_exactly) {
  // from_chars / to_chars: shortest text, exact double, no locale.
  for (const double d : {0.1, 1e-8, 1e-5, 3.4028234663852886e38, -2.5, 123456789.0, 5e-324}) {
    const Json j = Json::parse(Json::number(d).dump(), "t");
    CHECK_MSG(j.asNumber() == d, cat(Json::number(d).dump(), " read back as ", j.asNumber()));
  }
  CHECK(Json::number(1e-8).dump() == "1e-08");
  CHECK(Json::number(36).dump() == "36");
}

TEST(json_bounds_the_number_of_values) {
  std::string text = "[";
  for (int i = 0; i < 300000; ++i) text += i ? ",0" : "0";
  text += "]";
  expectThrow<JsonError>([&] { Json::parse(text, "t"); }, "too many values");
  CHECK(Json::parse(text, "t", 400000).items().size() == 300000);
}

TEST(json_objects_with_many_keys_parse_in_linear_time) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += cat(i ? "," : "", "\"k", i, "\":", i);
  text += "}";
  const Json j = Json::parse(text, "t");  // a quadratic duplicate check would take minutes
  CHECK(j.members().size() == 200000);
}

TEST(config_round_trip_and_rules) {
  const Config c = smallConfig(ModelKind::Dien);
  const Config d = Config::fromJson(c.toJson());
  CHECK(d.toJson().dump() == c.toJson().dump());
  Json without = Json::object();
  const Json full = c.toJson();
  for (const auto& m : full.members())
    if (m.first != "hidden") without.set(m.first, m.second);
  expectThrow<ConfigError>([&] { Config::fromJson(without); }, "missing key \"hidden\"");
  // One key set to a bad value in the config of `model`: rejected, naming the key.
  auto reject = [](ModelKind model, const char* key, const Json& value, const std::string& needle) {
    Json j = smallConfig(model).toJson();
    j.set(key, value);
    expectThrow<ConfigError>([&] { Config::fromJson(j); }, needle);
  };
  reject(ModelKind::Dien, "extra", Json::number(1), "unknown key \"extra\"");
  reject(ModelKind::Dien, "hidden", Json::string("36"), "config.hidden: expected an integer");
  reject(ModelKind::Dien, "hidden", Json::number(36.5), "config.hidden");
  reject(ModelKind::Dien, "evolution", Json::string("lstm"), "config.evolution: expected one of");
  reject(ModelKind::DienAgru, "evolution", Json::string("augru"), "requires evolution \"agru\"");
  reject(ModelKind::Base, "auxAlpha", Json::number(0.5), "auxAlpha");
  reject(ModelKind::Dien, "dUser", Json::number(0), "dUser");
  reject(ModelKind::Dien, "diceEps", Json::number(0), "diceEps");
  // Malformed config text is a config error too (DIEN_BAD_CONFIG), not a file error.
  expectThrow<ConfigError>([] { Config::fromJsonText("{\"model\": "); }, "config: invalid JSON");
}

TEST(tensor_table_names_every_tensor_once) {
  std::vector<bool> seen(static_cast<size_t>(TensorKind::Count), false);
  for (const auto& [name, c] : variants()) {
    const std::vector<TensorSpec> specs = tensorSpecs(c);
    std::set<std::string> names;
    for (const TensorSpec& s : specs) {
      CHECK_MSG(names.insert(s.name).second, cat(name, ": tensor ", s.name, " twice"));
      CHECK_MSG(s.numel() > 0, cat(name, ": ", s.name));
      seen[static_cast<size_t>(s.kind)] = true;
    }
    const Weights w(c);
    for (const TensorSpec& s : specs) CHECK(w.has(s.kind, s.layer) && w.spec(s.kind, s.layer).name == s.name);
  }
  for (size_t k = 0; k < seen.size(); ++k) CHECK_MSG(seen[k], cat("no variant has tensor kind ", k));
  // The names of docs/model.md §12, spelled out here independently of the table.
  const std::vector<TensorSpec> dien = tensorSpecs(smallConfig(ModelKind::Dien));
  std::set<std::string> names;
  for (const TensorSpec& s : dien) names.insert(s.name);
  for (const char* n :
       {"embedding.item.weight", "embedding.user.weight", "extractor.weight_ih_l0", "extractor.bias_hh_l0",
        "evolution.weight_hh", "attention.query_prelu.weight", "attention.mlp.2.bias", "mlp.layers.1.weight",
        "mlp.act.1.running_var", "mlp.out.bias", "aux.layers.2.weight"})
    CHECK_MSG(names.count(n), cat("missing ", n));
}

TEST(isa_check_knows_every_feature_a_build_can_use) {
  CHECK_MSG(dien_isa_all_known() == 1, cat("unknown feature in \"", dien_isa_built(), "\""));
  char missing[512];
  CHECK_MSG(dien_isa_missing(missing, sizeof missing) == 0, cat("this very machine lacks: ", missing));
}

TEST(gate_math_accuracy) {
  double worstExp = 0, worstSig = 0, worstTanh = 0;
  for (int i = -200000; i <= 200000; ++i) {
    const float x = static_cast<float>(i) * 4e-4f;  // [-80, 80]
    const double e = std::exp(static_cast<double>(x));
    worstExp = std::max(worstExp, std::fabs(expApprox(x) - e) / e);
    worstSig = std::max(worstSig, std::fabs(sigmoid(x) - 1.0 / (1.0 + std::exp(-static_cast<double>(x)))));
    worstTanh = std::max(worstTanh, std::fabs(tanhApprox(x) - std::tanh(static_cast<double>(x))));
  }
  CHECK_MSG(worstExp < 5e-7, cat("exp relative error ", worstExp));
  CHECK_MSG(worstSig < 2e-7, cat("sigmoid absolute error ", worstSig));
  CHECK_MSG(worstTanh < 5e-7, cat("tanh absolute error ", worstTanh));
  CHECK(sigmoid(-1000.0f) >= 0.0f && sigmoid(-1000.0f) < 1e-37f);
  CHECK(sigmoid(1000.0f) == 1.0f);
  CHECK(tanhApprox(100.0f) == 1.0f && tanhApprox(-100.0f) == -1.0f);
}

TEST(gemm_matches_naive) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int m : {1, 2, 5, 6, 7, 13, 64}) {
    for (int k : {1, 3, 36, 72}) {
      for (int n : {1, 16, 17, 40, 108}) {
        std::vector<float> a(static_cast<size_t>(m) * k), w(static_cast<size_t>(n) * k);
        for (float& x : a) x = u(rng);
        for (float& x : w) x = u(rng);
        PackedMatrix p;
        p.packTransposed(w.data(), n, k, k);
        std::vector<float> c(static_cast<size_t>(m) * p.np, 0.5f);
        gemm(m, a.data(), k, p, c.data(), p.np, true);
        for (int i = 0; i < m; ++i)
          for (int j = 0; j < n; ++j) {
            double ref = 0.5;
            for (int q = 0; q < k; ++q) ref += static_cast<double>(a[i * k + q]) * w[j * k + q];
            CHECK_MSG(std::fabs(c[i * p.np + j] - ref) < 1e-4, cat("m=", m, " k=", k, " n=", n));
          }
      }
    }
  }
}

TEST(thread_pool_runs_every_task_and_propagates_errors) {
  ThreadPool pool(3);
  std::vector<int> hits(1000, 0);
  pool.run(1000, [&](int t, int w) {
    CHECK(w >= 0 && w < 3);
    hits[t]++;
  });
  for (int h : hits) CHECK(h == 1);
  expectThrow<InputError>(
      [&] {
        pool.run(50, [](int t, int) {
          if (t == 17) throw InputError("task 17 failed");
        });
      },
      "task 17");
  int after = 0;
  pool.run(5, [&](int, int) { __atomic_add_fetch(&after, 1, __ATOMIC_RELAXED); });
  CHECK(after == 5);
}

TEST(every_variant_matches_float64_reference) {
  for (const auto& [name, c] : variants()) {
    Weights w(c);
    randomizeWeights(w, 101);
    const std::vector<uint8_t> bytes = writeSafetensors(c, w);
    EngineOptions o;
    o.device = "cpu";
    o.threads = 2;
    auto e = Engine::fromSafetensors(bytes.data(), bytes.size(), o);
    const OwnedBatch b = randomBatch(c, 77, 9);
    for (bool logits : {false, true}) {
      std::vector<float> out(b.B, std::numeric_limits<float>::quiet_NaN());  // poisoned
      e->predict(b.view(), out.data(), logits);
      const std::vector<double> ref = referenceForward(c, w, b.view(), logits);
      const double err = relativeError(out, ref);
      if (std::getenv("DIEN_TEST_VERBOSE"))
        std::printf("  %-40s %s %.3g\n", name.c_str(), logits ? "logits" : "probs ", err);
      CHECK_MSG(err <= 1e-5, cat(name, logits ? " logits" : " probabilities", ": relative error ", err));
    }
  }
}

TEST(score_candidates_equals_predict_on_expanded_batch) {
  for (const auto& [name, c] : variants()) {
    auto e = randomEngine(c, 21);
    for (int L : {0, 1, 5, c.maxLen}) {
      const OwnedRequests r = candidatesOf(randomBatch(c, 45, 17 + L), L);
      std::vector<float> expect(r.expanded.B), got(r.expanded.B, std::numeric_limits<float>::quiet_NaN());
      e->predict(r.expanded.view(), expect.data(), false);
      e->scoreRequests(r.data.view(), got.data(), false);
      const double err = relativeError(got, expect);
      CHECK_MSG(err <= 1e-6, cat(name, " L=", L, ": relative error ", err));
    }
  }
}

TEST(score_requests_equals_predict_on_the_expanded_batch) {
  // Ragged K (0, 1, many; more than a tile), lengths 0, 1 and T, more requests than one
  // wave of 2 threads x 32 holds.
  for (const auto& [name, c] : variants()) {
    auto e = randomEngine(c, 22, 2);
    const OwnedBatch b = randomBatch(c, 400, 31);
    const int sizes[] = {0, 1, 37, 5, 2, 0, 64, 9};
    std::vector<int> first{0};
    for (int q = 0; first.back() < 400; ++q) first.push_back(std::min(400, first.back() + sizes[q % 8]));
    const OwnedRequests r = requestsOf(b, first);
    std::vector<float> expect(r.expanded.B), got(r.expanded.B, std::numeric_limits<float>::quiet_NaN());
    e->predict(r.expanded.view(), expect.data(), false);
    e->scoreRequests(r.data.view(), got.data(), false);
    const double err = relativeError(got, expect);
    CHECK_MSG(err <= 1e-6, cat(name, ": ", r.data.histOff.size() - 1, " requests, relative error ", err));
  }
}

TEST(score_requests_validates_offsets_and_ids) {
  const Config c = smallConfig(ModelKind::Dien);
  auto e = randomEngine(c, 23);
  OwnedRequests good = requestsOf(randomBatch(c, 10, 5), {0, 3, 10});
  std::vector<float> out(10);
  auto bad = [&](auto edit, const char* message) {
    RequestsData r = good.data;
    edit(r);
    expectThrow<InputError>([&] { e->scoreRequests(r.view(), out.data(), false); }, message);
  };
  bad([](RequestsData& r) { r.candOff[1] = 11; }, "candOffsets[2]: 10 is below candOffsets[1] = 11");
  bad([](RequestsData& r) { r.candOff.back() = 9; }, "candOffsets[2]: 9 but the arrays hold 10 elements");
  bad([](RequestsData& r) { r.histOff[0] = 1; }, "histOffsets[0]: expected 0 but got 1");
  bad(
      [&](RequestsData& r) {
        r.histItem.resize(r.histItem.size() + c.maxLen, 0);
        r.histCat.resize(r.histItem.size(), 0);
        r.histOff.back() += c.maxLen;
      },
      "history entries exceed the limit");
  bad([](RequestsData& r) { r.items[4] = -1; }, "items[1, 1]: id -1 is outside");
  bad([](RequestsData& r) { r.cats.pop_back(); }, "cats: expected 10 elements but got 9");
  bad([](RequestsData& r) { r.user.clear(); }, "user ids are required");
}

TEST(thread_count_does_not_change_results) {
  const Config c = smallConfig(ModelKind::Dien, 36);
  auto one = randomEngine(c, 4, 1);
  auto three = randomEngine(c, 4, 3);
  const OwnedBatch b = randomBatch(c, 300, 8);
  std::vector<float> x(b.B), y(b.B);
  one->predict(b.view(), x.data(), true);
  three->predict(b.view(), y.data(), true);
  CHECK(std::memcmp(x.data(), y.data(), sizeof(float) * x.size()) == 0);
}

TEST(non_finite_results_are_an_error_not_nan) {
  // Finite weights so large that float32 overflows: a clear error naming the sample.
  const Config c = smallConfig(ModelKind::Dien);
  Weights w(c);
  randomizeWeights(w, 3);
  float* out = w.get(TensorKind::OutWeight);
  for (int k = 0; k < c.mlpHidden.back(); ++k) out[k] = 3.4e38f;
  const std::vector<uint8_t> bytes = writeSafetensors(c, w);
  EngineOptions o;
  o.device = "cpu";
  auto e = Engine::fromSafetensors(bytes.data(), bytes.size(), o);
  const OwnedBatch b = randomBatch(c, 8, 4);
  std::vector<float> got(b.B);
  for (bool logits : {false, true})
    expectThrow<NonFiniteError>([&] { e->predict(b.view(), got.data(), logits); }, "sample ");
  const OwnedRequests r = candidatesOf(b, 3);
  expectThrow<NonFiniteError>([&] { e->scoreRequests(r.data.view(), got.data(), false); }, "candidate ");
}

TEST(scratch_memory_is_bounded_before_it_is_allocated) {
  // A small model whose config asks for terabytes of per-thread scratch: refused.
  Config c = smallConfig(ModelKind::Base);
  c.maxLen = 65536;
  c.dItem = c.dCat = 4096;
  EngineOptions o;
  o.device = "cpu";
  o.threads = 2;
  expectThrow<ConfigError>([&] { Engine::create(c, 1, o); }, "GiB of scratch memory");
}

TEST(batches_too_large_to_index_are_refused) {
  const Config c = smallConfig(ModelKind::Dien);
  auto e = randomEngine(c, 1);
  BatchView b;
  b.batch = kMaxRows / c.maxLen + 1;
  b.steps = c.maxLen;
  float out[1];
  expectThrow<InputError>([&] { e->predict(b, out, false); }, "history rows; split the batch");
}

TEST(batch_validation_names_field_index_and_value) {
  const Config c = smallConfig(ModelKind::Dien);
  auto e = randomEngine(c, 1);
  std::vector<float> out(20);
  auto check = [&](const std::function<void(OwnedBatch&)>& edit, const std::string& needle) {
    OwnedBatch b = randomBatch(c, 20, 2);
    edit(b);
    expectThrow<InputError>([&] { e->predict(b.view(), out.data(), false); }, needle);
  };
  check([](OwnedBatch& b) { b.targetItem[4] = 57; }, "targetItem[4]: id 57 is outside [0, 57)");
  check([](OwnedBatch& b) { b.targetCat[2] = -1; }, "targetCat[2]: id -1");
  check([](OwnedBatch& b) { b.histLen[6] = 10; }, "histLen[6]: length 10 is outside [0, 9]");
  check([](OwnedBatch& b) { b.histLen[6] = -1; }, "histLen[6]: length -1");
  check([](OwnedBatch& b) { b.histItem[3 * 9 + 8] = 1000; }, "histItem[3, 8]: id 1000");
  check([](OwnedBatch& b) { b.histCat[19 * 9] = 11; }, "histCat[19, 0]: id 11");
  check([](OwnedBatch& b) { b.user[0] = 13; }, "user[0]: id 13");
  check([](OwnedBatch& b) { b.user.clear(); }, "user: the model has a user field");
  check([](OwnedBatch& b) { b.histItem.pop_back(); }, "histItem: expected 180 elements but got 179");
}

// dien_tests_<level> [substring]: run every test, or only those whose name contains
// substring. ctest runs each level's binary through dien_isa_run, which skips a level
// this CPU lacks.
int main(int argc, char** argv) {
  const std::string filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0, skipped = 0;
  for (const TestCase& t : registry()) {
    if (!filter.empty() && std::string(t.name).find(filter) == std::string::npos) continue;
    try {
      t.fn();
      ++passed;
      std::printf("ok   %s\n", t.name);
    } catch (const Skipped& e) {
      ++skipped;
      std::printf("skip %s: %s\n", t.name, e.what());
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", t.name, e.what());
    }
  }
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed == 0 ? 0 : 1;
}
