#include "weights.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "../common/errors.h"

namespace dien {

Weights::Weights(const Config& c, TableOnly, const std::vector<StorageType>* storage) : specs_(tensorSpecs(c)) {
  size_t total = 0;
  quant_.resize(specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i) {
    auto& layers = index_[static_cast<size_t>(specs_[i].kind)];
    if (layers.size() <= static_cast<size_t>(specs_[i].layer)) layers.resize(specs_[i].layer + 1, -1);
    layers[specs_[i].layer] = static_cast<int>(i);
    elements_ += specs_[i].numel();
    const bool quantised = storage && (*storage)[i] != StorageType::F32;
    if (quantised) {
      if (!isTableTensor(specs_[i].kind)) throw std::logic_error("Weights: only tables stay quantised");
      quant_[i].type = (*storage)[i];
      anyQuantized_ = true;
      offsets_.push_back(SIZE_MAX);
      continue;
    }
    offsets_.push_back(total);
    total += static_cast<size_t>(specs_[i].numel());
  }
  total_ = static_cast<int64_t>(total);
}

Weights::Weights(const Config& c, Fill fill) : Weights(c, TableOnly{}) {
  const size_t total = static_cast<size_t>(total_);
  owned_.reset(fill == Fill::Zeros ? new float[total]() : new float[total]);
  data_ = owned_.get();
}

Weights::Weights(const Config& c, float* external, std::shared_ptr<void> owner) : Weights(c, TableOnly{}) {
  data_ = external;
  owners_.push_back(std::move(owner));
  mapped_ = true;
}

Weights::Weights(const Config& c, const std::vector<StorageType>& storage) : Weights(c, TableOnly{}, &storage) {
  owned_.reset(new float[static_cast<size_t>(std::max<int64_t>(total_, 1))]);
  data_ = owned_.get();
}

int64_t Weights::bytes() const {
  int64_t b = 4 * total_;
  for (size_t i = 0; i < specs_.size(); ++i)
    if (quant_[i].type == StorageType::F16)
      b += 2 * specs_[i].numel();
    else if (quant_[i].type == StorageType::I8)
      b += specs_[i].numel() + 2 * specs_[i].shape[0];
  return b;
}

void Weights::ownValues() {
  if (!readOnly_) return;
  owned_.reset(new float[static_cast<size_t>(std::max<int64_t>(total_, 1))]);
  std::copy(data_, data_ + total_, owned_.get());
  data_ = owned_.get();
  readOnly_ = false;
}

size_t Weights::floatOffset(size_t i) const {
  if (offsets_[i] == SIZE_MAX)
    throw std::logic_error(cat("Weights: tensor ", specs_[i].name, " is quantised; read it with quant() or floats()"));
  return offsets_[i];
}

void Weights::setQuantized(size_t i, const uint8_t* data, const uint8_t* scales) {
  quant_[i].data = data;
  quant_[i].scales = scales;
}

const float* Weights::floats(size_t i, std::vector<float>& tmp) const {
  const QuantTable& q = quant_[i];
  if (q.type == StorageType::F32) return at(i);
  const int64_t rows = specs_[i].shape[0], cols = specs_[i].shape[1];
  tmp.resize(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) decodeRow(q.type, q.data, q.scales, r, cols, tmp.data() + r * cols);
  return tmp.data();
}

bool Weights::has(TensorKind k, int layer) const {
  const auto& layers = index_[static_cast<size_t>(k)];
  return layer >= 0 && static_cast<size_t>(layer) < layers.size() && layers[layer] >= 0;
}

size_t Weights::indexOf(TensorKind k, int layer) const {
  if (!has(k, layer))
    throw std::logic_error(cat("no tensor of kind ", static_cast<int>(k), " layer ", layer, " in this model"));
  return static_cast<size_t>(index_[static_cast<size_t>(k)][layer]);
}

float* Weights::find(const std::string& name) {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == name) return at(i);
  return nullptr;
}

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

}  // namespace

void initWeights(const Config& c, Weights& w, uint64_t seed) {
  Rng rng(seed);
  const int64_t H = c.hidden;
  for (size_t i = 0; i < w.specs().size(); ++i) {
    const TensorSpec& s = w.specs()[i];
    float* p = w.at(i);
    const int64_t count = s.numel();
    switch (s.init) {
      case TensorInit::Embedding: {
        const int64_t width = s.shape[1];
        for (int64_t k = 0; k < count; ++k) p[k] = k < width ? 0.0f : static_cast<float>(0.01 * rng.normal());
        break;
      }
      case TensorInit::GruKernel:  // Glorot per gate block, as Keras initialises a GRU kernel
        for (int g = 0; g < 3; ++g) fillGlorot(rng, p + g * H * s.shape[1], H, s.shape[1]);
        break;
      case TensorInit::Glorot: fillGlorot(rng, p, s.shape[0], s.shape[1]); break;
      case TensorInit::GateBias:
        std::fill(p, p + count, 0.0f);
        if (c.gruCell == GruCell::ResetBefore) std::fill(p, p + 2 * H, 1.0f);  // TF's r, z gate bias
        break;
      case TensorInit::Zeros: std::fill(p, p + count, 0.0f); break;
      case TensorInit::Ones: std::fill(p, p + count, 1.0f); break;
      case TensorInit::Slope: std::fill(p, p + count, 0.1f); break;
    }
  }
}

}  // namespace dien
