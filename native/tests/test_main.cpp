// Native tests (run by CTest, no Node needed): JSON, config, gate math, GEMM,
// safetensors round trips and rejections, and every model variant of the CPU backend
// against the float64 reference.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/json.h"
#include "cpu/gemm.h"
#include "cpu/thread_pool.h"
#include "model/engine.h"
#include "model/safetensors.h"
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
  expectThrow<FormatError>([] { Json::parse("{\"a\":1} x", "t"); }, "trailing");
  expectThrow<FormatError>([] { Json::parse("{\"a\":1,\"a\":2}", "t"); }, "duplicate key");
  expectThrow<FormatError>([] { Json::parse("[1,", "t"); }, "unexpected end");
  expectThrow<FormatError>([] { Json::parse(std::string(100, '['), "t"); }, "too deep");
  expectThrow<FormatError>([] { Json::parse("01", "t"); }, "trailing");
}

TEST(config_round_trip_and_rules) {
  const Config c = smallConfig(ModelKind::Dien);
  const Config d = Config::fromJson(c.toJson());
  CHECK(d.toJson().dump() == c.toJson().dump());
  auto without = [&](const char* key) {
    Json j = Json::object();
    const Json full = c.toJson();
    for (const auto& m : full.members())
      if (m.first != key) j.set(m.first, m.second);
    return j;
  };
  expectThrow<ConfigError>([&] { Config::fromJson(without("hidden")); }, "missing key \"hidden\"");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("extra", Json::number(1));
    Config::fromJson(j);
  }, "unknown key \"extra\"");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("hidden", Json::string("36"));
    Config::fromJson(j);
  }, "config.hidden: expected an integer");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("hidden", Json::number(36.5));
    Config::fromJson(j);
  }, "config.hidden");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("evolution", Json::string("lstm"));
    Config::fromJson(j);
  }, "config.evolution: expected one of");
  expectThrow<ConfigError>([&] {
    Json j = smallConfig(ModelKind::DienAgru).toJson();
    j.set("evolution", Json::string("augru"));
    Config::fromJson(j);
  }, "requires evolution \"agru\"");
  expectThrow<ConfigError>([&] {
    Json j = smallConfig(ModelKind::Base).toJson();
    j.set("auxAlpha", Json::number(0.5));
    Config::fromJson(j);
  }, "auxAlpha");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("dUser", Json::number(0));
    Config::fromJson(j);
  }, "dUser");
  expectThrow<ConfigError>([&] {
    Json j = c.toJson();
    j.set("diceEps", Json::number(0));
    Config::fromJson(j);
  }, "diceEps");
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
  expectThrow<InputError>([&] {
    pool.run(50, [](int t, int) {
      if (t == 17) throw InputError("task 17 failed");
    });
  }, "task 17");
  int after = 0;
  pool.run(5, [&](int, int) { __atomic_add_fetch(&after, 1, __ATOMIC_RELAXED); });
  CHECK(after == 5);
}

TEST(safetensors_round_trip) {
  for (const auto& [name, c] : variants()) {
    Weights w(c);
    randomizeWeights(w, 11);
    const std::vector<uint8_t> bytes = writeSafetensors(c, w);
    const LoadedWeights lw = readSafetensors(bytes.data(), bytes.size());
    CHECK_MSG(writeSafetensors(lw.config, *lw.weights) == bytes, name);
  }
}

namespace {
// Rewrites the header JSON of a valid file through edit, keeping the data section.
std::vector<uint8_t> withHeader(const std::vector<uint8_t>& file, const std::function<void(Json&)>& edit) {
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | file[i];
  Json h = Json::parse(std::string(file.begin() + 8, file.begin() + 8 + len), "t");
  edit(h);
  const std::string text = h.dump();
  const size_t dataBytes = file.size() - 8 - len;
  std::vector<uint8_t> out(8 + text.size() + dataBytes);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::memcpy(out.data() + 8 + text.size(), file.data() + 8 + len, dataBytes);
  return out;
}
Json* member(Json& j, const std::string& key) {
  for (auto& m : const_cast<std::vector<std::pair<std::string, Json>>&>(j.members()))
    if (m.first == key) return &m.second;
  return nullptr;
}
}  // namespace

TEST(safetensors_rejections) {
  const Config c = smallConfig(ModelKind::Dien);
  Weights w(c);
  randomizeWeights(w, 5);
  const std::vector<uint8_t> good = writeSafetensors(c, w);
  auto load = [](const std::vector<uint8_t>& b) { readSafetensors(b.data(), b.size()); };
  auto reject = [&](const std::vector<uint8_t>& b, const std::string& needle) {
    expectThrow<FormatError>([&] { load(b); }, needle);
  };
  reject(std::vector<uint8_t>(good.begin(), good.begin() + 5), "too short");
  {
    std::vector<uint8_t> b = good;
    b[0] = 0xff;
    b[3] = 0x7f;
    reject(b, "runs past the end");
  }
  reject(std::vector<uint8_t>(good.begin(), good.end() - 4), "truncated");
  {
    std::vector<uint8_t> b = good;
    b.push_back(0);
    reject(b, "trailing bytes");
  }
  reject(withHeader(good, [](Json& h) { member(h, "mlp.out.bias")->set("dtype", Json::string("F16")); }),
         "tensor mlp.out.bias: dtype F16");
  reject(withHeader(good,
                    [](Json& h) {
                      Json s = Json::array();
                      s.push(Json::number(2));
                      member(h, "mlp.out.bias")->set("shape", s);
                    }),
         "tensor mlp.out.bias has shape [2]");
  reject(withHeader(good,
                    [](Json& h) {
                      Json copy = Json::object();
                      for (const auto& m : h.members())
                        if (m.first != "attention.query.bias") copy.set(m.first, m.second);
                      h = copy;
                    }),
         "missing tensor attention.query.bias");
  reject(withHeader(good, [](Json& h) { h.set("extra.weight", *member(h, "mlp.out.bias")); }),
         "unexpected tensor extra.weight");
  reject(withHeader(good,
                    [](Json& h) {
                      // Point two tensors of the same size at the same bytes.
                      const Json offs = *member(*member(h, "mlp.out.bias"), "data_offsets");
                      member(h, "evolution.bias_hh");
                      Json* other = member(h, "extractor.bias_ih_l0");
                      Json* mine = member(h, "extractor.bias_hh_l0");
                      mine->set("data_offsets", *member(*other, "data_offsets"));
                      (void)offs;
                    }),
         "overlap");
  reject(withHeader(good,
                    [](Json& h) {
                      Json* meta = member(h, "__metadata__");
                      Json cfg = Json::parse(member(*meta, "config")->asString(), "t");
                      cfg.set("hidden", Json::number(40));
                      meta->set("config", Json::string(cfg.dump()));
                    }),
         "but the config");
  reject(withHeader(good,
                    [](Json& h) {
                      Json* meta = member(h, "__metadata__");
                      Json cfg = Json::parse(member(*meta, "config")->asString(), "t");
                      cfg.set("bogus", Json::boolean(true));
                      meta->set("config", Json::string(cfg.dump()));
                    }),
         "unknown key \"bogus\"");
  reject(withHeader(good, [](Json& h) { member(h, "__metadata__")->set("format", Json::string("pt")); }),
         "__metadata__.format");
  {
    Weights bad(c);
    randomizeWeights(bad, 5);
    bad.get("evolution.weight_hh")[7] = std::numeric_limits<float>::quiet_NaN();
    const std::vector<uint8_t> b = writeSafetensors(c, bad);
    reject(b, "tensor evolution.weight_hh holds a non-finite value");
  }
  {
    Weights bad(c);
    randomizeWeights(bad, 5);
    bad.get("mlp.act.1.running_var")[3] = -2.0f;
    const std::vector<uint8_t> b = writeSafetensors(c, bad);
    reject(b, "mlp.act.1.running_var");
  }
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
      if (std::getenv("DIEN_TEST_VERBOSE")) std::printf("  %-40s %s %.3g\n", name.c_str(), logits ? "logits" : "probs ", err);
      CHECK_MSG(err <= 1e-5, cat(name, logits ? " logits" : " probabilities", ": relative error ", err));
    }
  }
}

TEST(score_candidates_equals_predict_on_expanded_batch) {
  for (const auto& [name, c] : variants()) {
    auto e = randomEngine(c, 21);
    for (int L : {0, 1, 5, c.maxLen}) {
      OwnedBatch b = randomBatch(c, 45, 17 + L);
      for (int64_t i = 0; i < b.B; ++i) {
        b.histLen[i] = L;
        for (int t = 0; t < c.maxLen; ++t) {
          b.histItem[i * c.maxLen + t] = b.histItem[t];
          b.histCat[i * c.maxLen + t] = b.histCat[t];
        }
        if (!b.user.empty()) b.user[i] = b.user[0];
      }
      std::vector<float> expect(b.B), got(b.B, std::numeric_limits<float>::quiet_NaN());
      e->predict(b.view(), expect.data(), false);
      const CandidatesView v = candidatesOf(b, L);
      e->scoreCandidates(v, got.data(), false);
      const double err = relativeError(got, expect);
      CHECK_MSG(err <= 1e-6, cat(name, " L=", L, ": relative error ", err));
    }
  }
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

// dien_tests [substring]: run every test, or only those whose name contains substring.
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
