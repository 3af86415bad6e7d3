// The tensors of a model (docs/model.md §12) as one typed table. Loading, saving,
// initialisation and both backends name a tensor by its TensorKind (and layer), so
// every name, shape rule and presence rule is written once, in tensors.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "config.h"

namespace dien {

enum class TensorKind : uint8_t {
  ItemEmbedding,
  CatEmbedding,
  UserEmbedding,
  ExtractorWeightIh,
  ExtractorWeightHh,
  ExtractorBiasIh,
  ExtractorBiasHh,
  EvolutionWeightIh,
  EvolutionWeightHh,
  EvolutionBiasIh,
  EvolutionBiasHh,
  AttentionBilinear,
  AttentionQueryWeight,
  AttentionQueryBias,
  AttentionQuerySlope,
  AttentionMlpWeight,  // per scorer layer
  AttentionMlpBias,
  DinMlpWeight,  // per scorer layer
  DinMlpBias,
  BnWeight,
  BnBias,
  BnRunningMean,
  BnRunningVar,
  MlpWeight,  // per hidden layer of the output MLP
  MlpBias,
  DiceAlpha,
  DiceRunningMean,
  DiceRunningVar,
  PreluSlope,
  OutWeight,
  OutBias,
  AuxWeight,  // per aux-net layer
  AuxBias,
  WideItem,
  WideCat,
  WideCross,
  WideUser,
  Count
};

// How create() fills a tensor (docs/model.md §9).
enum class TensorInit : uint8_t {
  Embedding,  // N(0, 0.01^2), row 0 zero
  GruKernel,  // Glorot-uniform per gate block
  Glorot,     // Glorot-uniform over [out, in]
  GateBias,   // 0, or 1 for the r and z gates of a reset-before GRU
  Zeros,
  Ones,
  Slope,  // PReLU slopes: 0.1
};

struct TensorSpec {
  TensorKind kind = TensorKind::Count;
  int layer = 0;  // index within a per-layer family, else 0
  std::string name;
  std::vector<int64_t> shape;
  TensorInit init = TensorInit::Zeros;
  bool nonNegative = false;  // running variances: a negative value is a corrupt file
  int64_t numel() const;
  std::string shapeText() const;  // "[3, 4]"
};

std::string shapeText(const std::vector<int64_t>& shape);

// Tables are indexed by id (embedding and wide tables): a batch reads a few rows of them.
bool isTableTensor(TensorKind k);
// Running statistics are updated by a training step, never by a gradient.
bool isTrainableTensor(TensorKind k);

// Every tensor a file for this config holds, in the canonical writing order. Allocates
// nothing beyond the list itself, so a reader can check a header before committing memory.
std::vector<TensorSpec> tensorSpecs(const Config& c);

}  // namespace dien
