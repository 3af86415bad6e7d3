// The named tensors of MODEL.md 12, derived from a config, held in one allocation.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "config.h"

namespace dien {

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
  std::string shapeText() const;  // "[3, 4]"
};

// Every tensor a file for this config must hold, in the canonical writing order.
std::vector<TensorSpec> tensorSpecs(const Config& c);

class Weights {
 public:
  explicit Weights(const Config& c);  // zero-filled

  const std::vector<TensorSpec>& specs() const { return specs_; }
  bool has(const std::string& name) const { return index_.count(name) != 0; }
  // Throws std::logic_error for an unknown name: a programming error, not bad input.
  float* get(const std::string& name);
  const float* get(const std::string& name) const;
  const TensorSpec& spec(const std::string& name) const { return specs_[indexOf(name)]; }
  float* at(size_t i) { return data_.data() + offsets_[i]; }
  const float* at(size_t i) const { return data_.data() + offsets_[i]; }
  int64_t totalElements() const { return static_cast<int64_t>(data_.size()); }

 private:
  size_t indexOf(const std::string& name) const;

  std::vector<TensorSpec> specs_;
  std::vector<size_t> offsets_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<float> data_;
};

// MODEL.md 9 initialisation, deterministic for a seed.
void initWeights(const Config& c, Weights& w, uint64_t seed);

}  // namespace dien
