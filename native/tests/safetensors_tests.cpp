// Weight files: round trips, and every way a file can be corrupt, truncated or lying,
// each rejected whole, before tensor memory is allocated, naming the tensor or key.
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/errors.h"
#include "common/json.h"
#include "model/engine.h"
#include "model/quantize.h"
#include "model/safetensors.h"
#include "test_harness.h"
#include "test_util.h"
#include "variants.h"

using namespace dien;
using namespace dien::test;

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

// The same file with its embedded config edited.
std::vector<uint8_t> withConfig(const std::vector<uint8_t>& file, const std::function<void(Json&)>& edit) {
  return withHeader(file, [&](Json& h) {
    Json* meta = member(h, "__metadata__");
    Json cfg = Json::parse(member(*meta, "config")->asString(), "t");
    edit(cfg);
    meta->set("config", Json::string(cfg.dump()));
  });
}

// The same file with the record of one tensor edited.
std::vector<uint8_t> withTensor(const std::vector<uint8_t>& file, const std::string& name,
                                const std::function<void(Json&)>& edit) {
  return withHeader(file, [&](Json& h) { edit(*member(h, name)); });
}

void load(const std::vector<uint8_t>& b) { readSafetensors(b.data(), b.size()); }

template <typename E = FormatError>
void reject(const std::vector<uint8_t>& b, const std::string& needle) {
  expectThrow<E>([&] { load(b); }, needle);
}

std::vector<uint8_t> goodFile(uint64_t seed, const std::function<void(Weights&)>& edit = {}) {
  const Config c = smallConfig(ModelKind::Dien);
  Weights w(c);
  randomizeWeights(w, seed);
  if (edit) edit(w);
  return writeSafetensors(c, w);
}

}  // namespace

TEST(safetensors_round_trip) {
  for (const auto& [name, c] : variants()) {
    Weights w(c);
    randomizeWeights(w, 11);
    const std::vector<uint8_t> bytes = writeSafetensors(c, w);
    const LoadedWeights lw = readSafetensors(bytes.data(), bytes.size());
    CHECK_MSG(writeSafetensors(lw.config, *lw.weights) == bytes, name);
  }
}

TEST(safetensors_rejections) {
  const std::vector<uint8_t> good = goodFile(5);
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
  reject(withTensor(good, "mlp.out.bias", [](Json& t) { t.set("dtype", Json::string("F16")); }),
         "tensor mlp.out.bias: dtype F16");
  reject(withTensor(good, "mlp.out.bias",
                    [](Json& t) {
                      Json s = Json::array();
                      s.push(Json::number(2));
                      t.set("shape", s);
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
  // Two tensors of the same size on the same bytes.
  reject(withHeader(good,
                    [](Json& h) {
                      const Json offsets = *member(*member(h, "extractor.bias_ih_l0"), "data_offsets");
                      member(h, "extractor.bias_hh_l0")->set("data_offsets", offsets);
                    }),
         "overlap");
  reject(withHeader(good, [](Json& h) { member(h, "__metadata__")->set("format", Json::string("pt")); }),
         "__metadata__.format");
  reject(goodFile(
             5, [](Weights& w) { w.get(TensorKind::EvolutionWeightHh)[7] = std::numeric_limits<float>::quiet_NaN(); }),
         "tensor evolution.weight_hh holds a non-finite value");
  reject(goodFile(5, [](Weights& w) { w.get(TensorKind::DiceRunningVar, 1)[3] = -2.0f; }), "mlp.act.1.running_var");
  // A shape that contradicts a valid config is a bad file...
  reject(withConfig(good, [](Json& cfg) { cfg.set("hidden", Json::number(40)); }), "but the config");
  // ...a config that breaks the config's own rules is a config error, placed in the file.
  reject<ConfigError>(withConfig(good, [](Json& cfg) { cfg.set("bogus", Json::boolean(true)); }),
                      "weights: __metadata__.config: unknown key \"bogus\"");
  reject<ConfigError>(
      withHeader(good, [](Json& h) { member(h, "__metadata__")->set("config", Json::string("{\"model\":")); }),
      "config: invalid JSON");
}

TEST(safetensors_checks_the_header_before_allocating) {
  // A small file whose config declares 250 million items and whose header lists no
  // tensors: rejected for what the header lacks, at once, without allocating the tables.
  const Config c = smallConfig(ModelKind::Dien);
  const std::vector<uint8_t> liar = withHeader(goodFile(5), [](Json& h) {
    Json meta = *member(h, "__metadata__");
    Json cfg = Json::parse(member(meta, "config")->asString(), "t");
    cfg.set("itemVocab", Json::number(250000000));
    meta.set("config", Json::string(cfg.dump()));
    h = Json::object();
    h.set("__metadata__", meta);
  });
  const auto t0 = std::chrono::steady_clock::now();
  reject(liar, "missing tensor ");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  CHECK_MSG(ms < 100, cat("rejecting a lying header took ", ms, " ms"));
  // Every tensor listed, the item table with the huge shape, but its data is not there.
  const std::vector<uint8_t> full =
      withConfig(goodFile(5), [&](Json& cfg) { cfg.set("itemVocab", Json::number(250000000)); });
  reject(withTensor(full, "embedding.item.weight",
                    [&](Json& t) {
                      Json shape = Json::array();
                      shape.push(Json::number(250000000));
                      shape.push(Json::number(c.dItem));
                      t.set("shape", shape);
                    }),
         "tensor embedding.item.weight: data_offsets");
}

TEST(half_and_bfloat16_conversions_round_to_nearest_even) {
  // Every half survives half -> float -> half (NaNs stay NaNs).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = halfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      CHECK(std::isnan(halfToFloat(floatToHalf(f))));
      continue;
    }
    CHECK_MSG(floatToHalf(f) == h, cat("half 0x", std::hex, h, " came back as 0x", floatToHalf(f)));
  }
  CHECK(floatToHalf(1.0f) == 0x3c00);
  CHECK(floatToHalf(-2.5f) == 0xc100);
  CHECK(floatToHalf(65504.0f) == 0x7bff);
  CHECK(floatToHalf(65520.0f) == 0x7c00);                // rounds past the largest half: inf
  CHECK(floatToHalf(1.0f + 1.0f / 2048) == 0x3c00);      // a tie rounds to the even neighbour
  CHECK(floatToHalf(1.0f + 3.0f / 2048) == 0x3c02);      // ... in both directions
  CHECK(floatToHalf(5.9604645e-8f) == 0x0001);           // the smallest subnormal
  CHECK(floatToHalf(2.0e-8f) == 0x0000);                 // below half of it: zero
  CHECK(halfToFloat(0x0001) == 5.9604644775390625e-8f);  // 2^-24
  CHECK(floatToBf16(1.0f) == 0x3f80);
  CHECK(floatToBf16(3.14159265f) == 0x4049);
  CHECK(std::isnan(bf16ToFloat(floatToBf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(int8_rows_hold_every_value_within_half_a_step) {
  std::mt19937_64 rng(9);
  std::normal_distribution<float> n(0.0f, 1.0f);
  const int64_t rows = 300, cols = 18;
  std::vector<float> x(rows * cols), back(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      x[r * cols + c] = r == 7 ? 0.0f : n(rng) * std::pow(10.0f, static_cast<float>(r % 9 - 6));
  std::vector<int8_t> q(x.size());
  std::vector<uint16_t> scales(rows);
  quantizeRowsI8(x.data(), rows, cols, q.data(), scales.data());
  for (int64_t r = 0; r < rows; ++r)
    decodeRow(StorageType::I8, reinterpret_cast<const uint8_t*>(q.data()),
              reinterpret_cast<const uint8_t*>(scales.data()), r, cols, back.data() + r * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = bf16ToFloat(scales[r]);
    if (r == 7) CHECK(scale == 0.0f);
    for (int64_t c = 0; c < cols; ++c) {
      const size_t k = static_cast<size_t>(r * cols + c);
      CHECK(q[k] >= -127);  // -128 is never used: the range is symmetric
      CHECK_MSG(std::fabs(back[k] - x[k]) <= scale * 0.5f * 1.0001f,
                cat("row ", r, " col ", c, ": ", x[k], " came back as ", back[k], " (step ", scale, ")"));
    }
  }
}
