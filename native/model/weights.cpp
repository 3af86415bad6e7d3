#include "weights.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "../common/errors.h"

namespace dien {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

std::string TensorSpec::shapeText() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += cat(i ? ", " : "", shape[i]);
  return s + "]";
}

namespace {
void addMlp(std::vector<TensorSpec>& out, const std::string& prefix, int64_t in, const std::vector<int>& hidden) {
  int64_t prev = in;
  for (size_t i = 0; i <= hidden.size(); ++i) {
    const int64_t outW = i < hidden.size() ? hidden[i] : 1;
    out.push_back({cat(prefix, i, ".weight"), {outW, prev}});
    out.push_back({cat(prefix, i, ".bias"), {outW}});
    prev = outW;
  }
}
}  // namespace

std::vector<TensorSpec> tensorSpecs(const Config& c) {
  std::vector<TensorSpec> t;
  const int64_t E = c.embedWidth(), H = c.hidden;
  t.push_back({"embedding.item.weight", {c.itemVocab, c.dItem}});
  t.push_back({"embedding.cat.weight", {c.catVocab, c.dCat}});
  if (c.hasUser()) t.push_back({"embedding.user.weight", {c.userVocab, c.dUser}});
  if (c.hasGru()) {
    t.push_back({"extractor.weight_ih_l0", {3 * H, E}});
    t.push_back({"extractor.weight_hh_l0", {3 * H, H}});
    t.push_back({"extractor.bias_ih_l0", {3 * H}});
    t.push_back({"extractor.bias_hh_l0", {3 * H}});
    t.push_back({"evolution.weight_ih", {3 * H, H}});
    t.push_back({"evolution.weight_hh", {3 * H, H}});
    t.push_back({"evolution.bias_ih", {3 * H}});
    t.push_back({"evolution.bias_hh", {3 * H}});
    if (c.attention == AttentionKind::Bilinear) {
      t.push_back({"attention.W", {H, E}});
    } else {
      t.push_back({"attention.query.weight", {H, E}});
      t.push_back({"attention.query.bias", {H}});
      t.push_back({"attention.query_prelu.weight", {H}});
      addMlp(t, "attention.mlp.", 4 * H, c.attentionHidden);
    }
  }
  if (c.model == ModelKind::Din) addMlp(t, "din.mlp.", 4 * E, c.attentionHidden);
  const int64_t din = c.mlpInputWidth();
  if (c.mlpBn)
    for (const char* p : {"weight", "bias", "running_mean", "running_var"}) t.push_back({cat("mlp.bn.", p), {din}});
  int64_t prev = din;
  for (size_t i = 0; i < c.mlpHidden.size(); ++i) {
    const int64_t w = c.mlpHidden[i];
    t.push_back({cat("mlp.layers.", i, ".weight"), {w, prev}});
    t.push_back({cat("mlp.layers.", i, ".bias"), {w}});
    if (c.activation == Activation::Dice)
      for (const char* p : {"alpha", "running_mean", "running_var"}) t.push_back({cat("mlp.act.", i, ".", p), {w}});
    else if (c.activation == Activation::Prelu)
      t.push_back({cat("mlp.act.", i, ".weight"), {w}});
    prev = w;
  }
  t.push_back({"mlp.out.weight", {1, prev}});
  t.push_back({"mlp.out.bias", {1}});
  if (c.hasAuxTensors()) addMlp(t, "aux.layers.", H + E, c.auxHidden);
  if (c.model == ModelKind::WideDeep) {
    t.push_back({"wide.item.weight", {c.itemVocab, 1}});
    t.push_back({"wide.cat.weight", {c.catVocab, 1}});
    t.push_back({"wide.cross.weight", {c.catVocab, 1}});
    if (c.hasUser()) t.push_back({"wide.user.weight", {c.userVocab, 1}});
  }
  return t;
}

Weights::Weights(const Config& c) : specs_(tensorSpecs(c)) {
  size_t total = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    offsets_.push_back(total);
    index_[specs_[i].name] = i;
    total += static_cast<size_t>(specs_[i].numel());
  }
  data_.assign(total, 0.0f);
}

size_t Weights::indexOf(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) throw std::logic_error(cat("no tensor named ", name));
  return it->second;
}

float* Weights::get(const std::string& name) { return at(indexOf(name)); }

const float* Weights::get(const std::string& name) const { return const_cast<Weights*>(this)->get(name); }

namespace {

// xoshiro256** seeded through splitmix64: the same numbers on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  double normal() {
    double u1 = uniform();
    while (u1 <= 0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

void fillGlorot(Rng& rng, float* w, int64_t rows, int64_t cols) {
  const double limit = std::sqrt(6.0 / static_cast<double>(rows + cols));
  for (int64_t i = 0; i < rows * cols; ++i) w[i] = static_cast<float>((2 * rng.uniform() - 1) * limit);
}

bool endsWith(const std::string& s, const char* suffix) {
  const std::string t(suffix);
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

}  // namespace

void initWeights(const Config& c, Weights& w, uint64_t seed) {
  Rng rng(seed);
  const int64_t H = c.hidden;
  for (size_t i = 0; i < w.specs().size(); ++i) {
    const TensorSpec& s = w.specs()[i];
    float* p = w.at(i);
    const std::string& n = s.name;
    const int64_t count = s.numel();
    if (n.rfind("embedding.", 0) == 0) {
      const int64_t width = s.shape[1];
      for (int64_t k = 0; k < count; ++k) p[k] = k < width ? 0.0f : static_cast<float>(0.01 * rng.normal());
    } else if (n.rfind("wide.", 0) == 0) {
      std::fill(p, p + count, 0.0f);
    } else if (n == "extractor.weight_ih_l0" || n == "extractor.weight_hh_l0" || n == "evolution.weight_ih" ||
               n == "evolution.weight_hh") {
      // Glorot per gate block, as Keras initialises a GRU kernel.
      const int64_t cols = s.shape[1];
      for (int g = 0; g < 3; ++g) fillGlorot(rng, p + g * H * cols, H, cols);
    } else if (endsWith(n, ".bias") || n.rfind("extractor.bias", 0) == 0 || n.rfind("evolution.bias", 0) == 0) {
      std::fill(p, p + count, 0.0f);
      const bool gateBias = n == "extractor.bias_ih_l0" || n == "evolution.bias_ih";
      if (gateBias && c.gruCell == GruCell::ResetBefore) std::fill(p, p + 2 * H, 1.0f);  // TF's r, z gate bias
    } else if (n == "attention.query_prelu.weight" || (n.rfind("mlp.act.", 0) == 0 && endsWith(n, ".weight"))) {
      std::fill(p, p + count, 0.1f);
    } else if (endsWith(n, ".alpha") || endsWith(n, ".running_mean")) {
      std::fill(p, p + count, 0.0f);
    } else if (endsWith(n, ".running_var") || n == "mlp.bn.weight") {
      std::fill(p, p + count, 1.0f);
    } else if (s.shape.size() == 2) {  // every other linear kernel [out, in]
      fillGlorot(rng, p, s.shape[0], s.shape[1]);
    } else {
      throw std::logic_error(cat("initWeights: no rule for tensor ", n));
    }
  }
}

}  // namespace dien
