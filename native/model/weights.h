// The named tensors of docs/model.md §12 for one config, held in one allocation and
// addressed by TensorKind (tensors.h).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "quantize.h"
#include "tensors.h"

namespace dien {

// A table kept in its quantised form (docs/model.md §12): rows are decoded where read.
struct QuantTable {
  StorageType type = StorageType::F32;  // F32: the tensor is plain float32
  const uint8_t* data = nullptr;        // F16: 2 bytes a value; I8: 1 byte a value
  const uint8_t* scales = nullptr;      // I8: a bfloat16 per row
};

class Weights {
 public:
  enum class Fill { Zeros, Uninitialised };
  // Uninitialised is for a reader that overwrites every value before anyone reads one.
  explicit Weights(const Config& c, Fill fill = Fill::Zeros);
  // Adopts memory laid out as this config's tensors in specs() order (a mapped file's
  // data section); owner keeps that memory alive as long as the weights.
  Weights(const Config& c, float* external, std::shared_ptr<void> owner);
  // Tables to keep quantised: storage[i] is F16 or I8 for such a table tensor, F32 for
  // every other tensor. Their bytes are set with setQuantized(); the rest get storage.
  Weights(const Config& c, const std::vector<StorageType>& storage);
  // The values live in a mapped file (docs/model.md §12), not in memory of their own.
  bool mapped() const { return mapped_; }
  void setMapped() { mapped_ = true; }
  // The float32 block is a read-only mapping (strict overcommit): ownValues() copies it
  // into memory of the weights' own before anything writes it (training).
  void setReadOnly() { readOnly_ = true; }
  bool readOnly() const { return readOnly_; }
  void ownValues();

  // Tensor i's quantised form (type F32 when it is plain float32); its memory is kept
  // alive by an owner given to keep().
  const QuantTable& quant(size_t i) const { return quant_[i]; }
  void setQuantized(size_t i, const uint8_t* data, const uint8_t* scales);
  bool anyQuantized() const { return anyQuantized_; }
  void keep(std::shared_ptr<void> owner) { owners_.push_back(std::move(owner)); }
  // Tensor i as float32: its own values, or a quantised table decoded into tmp.
  const float* floats(size_t i, std::vector<float>& tmp) const;
  // Elements of every tensor (the float32 block and the quantised tables).
  int64_t elements() const { return elements_; }
  // Bytes the values take: the float32 block and the quantised tables with their scales.
  int64_t bytes() const;

  const std::vector<TensorSpec>& specs() const { return specs_; }
  bool has(TensorKind k, int layer = 0) const;
  // Throws std::logic_error for a tensor this config does not have: a programming error.
  float* get(TensorKind k, int layer = 0) { return at(indexOf(k, layer)); }
  const float* get(TensorKind k, int layer = 0) const { return at(indexOf(k, layer)); }
  const TensorSpec& spec(TensorKind k, int layer = 0) const { return specs_[indexOf(k, layer)]; }
  // By file name, for tools and tests that speak the file's language; nullptr if absent.
  float* find(const std::string& name);
  const float* find(const std::string& name) const { return const_cast<Weights*>(this)->find(name); }
  // Tensor i's float32 values; a logic error for a quantised table (use quant() or floats()).
  float* at(size_t i) { return data_ + floatOffset(i); }
  const float* at(size_t i) const { return data_ + floatOffset(i); }
  int64_t totalElements() const { return total_; }  // of the float32 block
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
  // The table of tensors, no storage yet; tensors with storage[i] != F32 get no float space.
  Weights(const Config& c, TableOnly, const std::vector<StorageType>* storage = nullptr);
  size_t floatOffset(size_t i) const;
  std::unique_ptr<float[]> owned_;
  std::vector<std::shared_ptr<void>> owners_;
  std::vector<QuantTable> quant_;
  bool mapped_ = false, anyQuantized_ = false, readOnly_ = false;
  float* data_ = nullptr;
  int64_t total_ = 0, elements_ = 0;
};

// docs/model.md §9 initialisation, deterministic for a seed.
void initWeights(const Config& c, Weights& w, uint64_t seed);

}  // namespace dien
