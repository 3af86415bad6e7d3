// The named tensors of docs/model.md §12 for one config, held in one allocation and
// addressed by TensorKind (tensors.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "tensors.h"

namespace dien {

class Weights {
 public:
  enum class Fill { Zeros, Uninitialised };
  // Uninitialised is for a reader that overwrites every value before anyone reads one.
  explicit Weights(const Config& c, Fill fill = Fill::Zeros);
  // Adopts memory laid out as this config's tensors in specs() order (a mapped file's
  // data section); owner keeps that memory alive as long as the weights.
  Weights(const Config& c, float* external, std::shared_ptr<void> owner);
  // The values live in a mapped file (docs/model.md §12), not in memory of their own.
  bool mapped() const { return owner_ != nullptr; }

  const std::vector<TensorSpec>& specs() const { return specs_; }
  bool has(TensorKind k, int layer = 0) const;
  // Throws std::logic_error for a tensor this config does not have: a programming error.
  float* get(TensorKind k, int layer = 0) { return at(indexOf(k, layer)); }
  const float* get(TensorKind k, int layer = 0) const { return at(indexOf(k, layer)); }
  const TensorSpec& spec(TensorKind k, int layer = 0) const { return specs_[indexOf(k, layer)]; }
  // By file name, for tools and tests that speak the file's language; nullptr if absent.
  float* find(const std::string& name);
  const float* find(const std::string& name) const { return const_cast<Weights*>(this)->find(name); }
  float* at(size_t i) { return data_ + offsets_[i]; }
  const float* at(size_t i) const { return data_ + offsets_[i]; }
  int64_t totalElements() const { return total_; }
  // Position in specs() (throws std::logic_error when absent) and element offset of tensor i.
  size_t indexOf(TensorKind k, int layer) const;
  size_t offsetAt(size_t i) const { return offsets_[i]; }
  float* data() { return data_; }
  const float* data() const { return data_; }

 private:
  std::vector<TensorSpec> specs_;
  std::vector<size_t> offsets_;
  // index_[kind][layer] = position in specs_
  std::array<std::vector<int>, static_cast<size_t>(TensorKind::Count)> index_;
  struct TableOnly {};
  Weights(const Config& c, TableOnly);  // the table of tensors, no storage yet
  std::unique_ptr<float[]> owned_;
  std::shared_ptr<void> owner_;
  float* data_ = nullptr;
  int64_t total_ = 0;
};

// docs/model.md §9 initialisation, deterministic for a seed.
void initWeights(const Config& c, Weights& w, uint64_t seed);

}  // namespace dien
