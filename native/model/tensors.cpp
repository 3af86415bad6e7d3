#include "tensors.h"

#include <algorithm>

#include "../common/errors.h"

namespace dien {

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += cat(i ? ", " : "", shape[i]);
  return s + "]";
}

std::string TensorSpec::shapeText() const { return dien::shapeText(shape); }

namespace {

using Shape = std::vector<int64_t>;
using Kind = TensorKind;
using Init = TensorInit;

int64_t E(const Config& c) { return c.embedWidth(); }
int64_t H(const Config& c) { return c.hidden; }

// Layer i of a stack with the given hidden sizes and one output: [out_i, in_i].
Shape stackWeight(const std::vector<int>& hidden, int64_t in, int i) {
  const int64_t inW = i == 0 ? in : hidden[i - 1];
  const int64_t outW = i < static_cast<int>(hidden.size()) ? hidden[i] : 1;
  return {outW, inW};
}
Shape stackBias(const std::vector<int>& hidden, int i) { return {i < static_cast<int>(hidden.size()) ? hidden[i] : 1}; }
int stackLayers(const std::vector<int>& hidden) { return static_cast<int>(hidden.size()) + 1; }

bool mlpAttention(const Config& c) { return c.hasGru() && c.attention == AttentionKind::Mlp; }

struct Rule {
  Kind kind;
  const char* name;  // "{}" stands for the layer index
  Init init;
  int group;                           // consecutive rules of one group are written layer by layer
  int (*count)(const Config&);         // how many layers (0: absent; 1: a single tensor)
  Shape (*shape)(const Config&, int);  // shape of layer i
  bool nonNegative = false;
};

int one(const Config&) { return 1; }
int user(const Config& c) { return c.hasUser() ? 1 : 0; }
int gru(const Config& c) { return c.hasGru() ? 1 : 0; }

// The canonical order of a weight file; create() draws random numbers in this order.
const Rule kRules[] = {
    {Kind::ItemEmbedding, "embedding.item.weight", Init::Embedding, 0, one,
     [](const Config& c, int) {
       return Shape{c.itemVocab, c.dItem};
     }},
    {Kind::CatEmbedding, "embedding.cat.weight", Init::Embedding, 0, one,
     [](const Config& c, int) {
       return Shape{c.catVocab, c.dCat};
     }},
    {Kind::UserEmbedding, "embedding.user.weight", Init::Embedding, 0, user,
     [](const Config& c, int) {
       return Shape{c.userVocab, c.dUser};
     }},
    {Kind::ExtractorWeightIh, "extractor.weight_ih_l0", Init::GruKernel, 0, gru,
     [](const Config& c, int) {
       return Shape{3 * H(c), E(c)};
     }},
    {Kind::ExtractorWeightHh, "extractor.weight_hh_l0", Init::GruKernel, 0, gru,
     [](const Config& c, int) {
       return Shape{3 * H(c), H(c)};
     }},
    {Kind::ExtractorBiasIh, "extractor.bias_ih_l0", Init::GateBias, 0, gru,
     [](const Config& c, int) { return Shape{3 * H(c)}; }},
    {Kind::ExtractorBiasHh, "extractor.bias_hh_l0", Init::Zeros, 0, gru,
     [](const Config& c, int) { return Shape{3 * H(c)}; }},
    {Kind::EvolutionWeightIh, "evolution.weight_ih", Init::GruKernel, 0, gru,
     [](const Config& c, int) {
       return Shape{3 * H(c), H(c)};
     }},
    {Kind::EvolutionWeightHh, "evolution.weight_hh", Init::GruKernel, 0, gru,
     [](const Config& c, int) {
       return Shape{3 * H(c), H(c)};
     }},
    {Kind::EvolutionBiasIh, "evolution.bias_ih", Init::GateBias, 0, gru,
     [](const Config& c, int) { return Shape{3 * H(c)}; }},
    {Kind::EvolutionBiasHh, "evolution.bias_hh", Init::Zeros, 0, gru,
     [](const Config& c, int) { return Shape{3 * H(c)}; }},
    {Kind::AttentionBilinear, "attention.W", Init::Glorot, 0,
     [](const Config& c) { return c.hasGru() && c.attention == AttentionKind::Bilinear ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{H(c), E(c)};
     }},
    {Kind::AttentionQueryWeight, "attention.query.weight", Init::Glorot, 0,
     [](const Config& c) { return mlpAttention(c) ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{H(c), E(c)};
     }},
    {Kind::AttentionQueryBias, "attention.query.bias", Init::Zeros, 0,
     [](const Config& c) { return mlpAttention(c) ? 1 : 0; }, [](const Config& c, int) { return Shape{H(c)}; }},
    {Kind::AttentionQuerySlope, "attention.query_prelu.weight", Init::Slope, 0,
     [](const Config& c) { return mlpAttention(c) ? 1 : 0; }, [](const Config& c, int) { return Shape{H(c)}; }},
    {Kind::AttentionMlpWeight, "attention.mlp.{}.weight", Init::Glorot, 1,
     [](const Config& c) { return mlpAttention(c) ? stackLayers(c.attentionHidden) : 0; },
     [](const Config& c, int i) { return stackWeight(c.attentionHidden, 4 * H(c), i); }},
    {Kind::AttentionMlpBias, "attention.mlp.{}.bias", Init::Zeros, 1,
     [](const Config& c) { return mlpAttention(c) ? stackLayers(c.attentionHidden) : 0; },
     [](const Config& c, int i) { return stackBias(c.attentionHidden, i); }},
    {Kind::DinMlpWeight, "din.mlp.{}.weight", Init::Glorot, 2,
     [](const Config& c) { return c.model == ModelKind::Din ? stackLayers(c.attentionHidden) : 0; },
     [](const Config& c, int i) { return stackWeight(c.attentionHidden, 4 * E(c), i); }},
    {Kind::DinMlpBias, "din.mlp.{}.bias", Init::Zeros, 2,
     [](const Config& c) { return c.model == ModelKind::Din ? stackLayers(c.attentionHidden) : 0; },
     [](const Config& c, int i) { return stackBias(c.attentionHidden, i); }},
    {Kind::BnWeight, "mlp.bn.weight", Init::Ones, 0, [](const Config& c) { return c.mlpBn ? 1 : 0; },
     [](const Config& c, int) { return Shape{c.mlpInputWidth()}; }},
    {Kind::BnBias, "mlp.bn.bias", Init::Zeros, 0, [](const Config& c) { return c.mlpBn ? 1 : 0; },
     [](const Config& c, int) { return Shape{c.mlpInputWidth()}; }},
    {Kind::BnRunningMean, "mlp.bn.running_mean", Init::Zeros, 0, [](const Config& c) { return c.mlpBn ? 1 : 0; },
     [](const Config& c, int) { return Shape{c.mlpInputWidth()}; }},
    {Kind::BnRunningVar, "mlp.bn.running_var", Init::Ones, 0, [](const Config& c) { return c.mlpBn ? 1 : 0; },
     [](const Config& c, int) { return Shape{c.mlpInputWidth()}; }, true},
    {Kind::MlpWeight, "mlp.layers.{}.weight", Init::Glorot, 3,
     [](const Config& c) { return static_cast<int>(c.mlpHidden.size()); },
     [](const Config& c, int i) {
       return Shape{c.mlpHidden[i], i == 0 ? c.mlpInputWidth() : c.mlpHidden[i - 1]};
     }},
    {Kind::MlpBias, "mlp.layers.{}.bias", Init::Zeros, 3,
     [](const Config& c) { return static_cast<int>(c.mlpHidden.size()); },
     [](const Config& c, int i) { return Shape{c.mlpHidden[i]}; }},
    {Kind::DiceAlpha, "mlp.act.{}.alpha", Init::Zeros, 3,
     [](const Config& c) { return c.activation == Activation::Dice ? static_cast<int>(c.mlpHidden.size()) : 0; },
     [](const Config& c, int i) { return Shape{c.mlpHidden[i]}; }},
    {Kind::DiceRunningMean, "mlp.act.{}.running_mean", Init::Zeros, 3,
     [](const Config& c) { return c.activation == Activation::Dice ? static_cast<int>(c.mlpHidden.size()) : 0; },
     [](const Config& c, int i) { return Shape{c.mlpHidden[i]}; }},
    {Kind::DiceRunningVar, "mlp.act.{}.running_var", Init::Ones, 3,
     [](const Config& c) { return c.activation == Activation::Dice ? static_cast<int>(c.mlpHidden.size()) : 0; },
     [](const Config& c, int i) { return Shape{c.mlpHidden[i]}; }, true},
    {Kind::PreluSlope, "mlp.act.{}.weight", Init::Slope, 3,
     [](const Config& c) { return c.activation == Activation::Prelu ? static_cast<int>(c.mlpHidden.size()) : 0; },
     [](const Config& c, int i) { return Shape{c.mlpHidden[i]}; }},
    {Kind::OutWeight, "mlp.out.weight", Init::Glorot, 0, one,
     [](const Config& c, int) {
       return Shape{1, c.mlpHidden.empty() ? c.mlpInputWidth() : c.mlpHidden.back()};
     }},
    {Kind::OutBias, "mlp.out.bias", Init::Zeros, 0, one, [](const Config&, int) { return Shape{1}; }},
    {Kind::AuxWeight, "aux.layers.{}.weight", Init::Glorot, 4,
     [](const Config& c) { return c.hasAuxTensors() ? stackLayers(c.auxHidden) : 0; },
     [](const Config& c, int i) { return stackWeight(c.auxHidden, H(c) + E(c), i); }},
    {Kind::AuxBias, "aux.layers.{}.bias", Init::Zeros, 4,
     [](const Config& c) { return c.hasAuxTensors() ? stackLayers(c.auxHidden) : 0; },
     [](const Config& c, int i) { return stackBias(c.auxHidden, i); }},
    {Kind::WideItem, "wide.item.weight", Init::Zeros, 0,
     [](const Config& c) { return c.model == ModelKind::WideDeep ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{c.itemVocab, 1};
     }},
    {Kind::WideCat, "wide.cat.weight", Init::Zeros, 0,
     [](const Config& c) { return c.model == ModelKind::WideDeep ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{c.catVocab, 1};
     }},
    {Kind::WideCross, "wide.cross.weight", Init::Zeros, 0,
     [](const Config& c) { return c.model == ModelKind::WideDeep ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{c.catVocab, 1};
     }},
    {Kind::WideUser, "wide.user.weight", Init::Zeros, 0,
     [](const Config& c) { return c.model == ModelKind::WideDeep && c.hasUser() ? 1 : 0; },
     [](const Config& c, int) {
       return Shape{c.userVocab, 1};
     }},
};

static_assert(sizeof(kRules) / sizeof(kRules[0]) == static_cast<size_t>(TensorKind::Count), "one rule per TensorKind");

std::string nameOf(const Rule& r, int layer) {
  std::string name = r.name;
  const size_t at = name.find("{}");
  if (at != std::string::npos) name.replace(at, 2, std::to_string(layer));
  return name;
}

void emit(std::vector<TensorSpec>& out, const Config& c, const Rule& r, int layer) {
  out.push_back({r.kind, layer, nameOf(r, layer), r.shape(c, layer), r.init, r.nonNegative});
}

}  // namespace

std::vector<TensorSpec> tensorSpecs(const Config& c) {
  std::vector<TensorSpec> specs;
  const size_t n = sizeof(kRules) / sizeof(kRules[0]);
  for (size_t i = 0; i < n;) {
    const Rule& r = kRules[i];
    if (static_cast<size_t>(r.kind) != i) throw std::logic_error("tensor rules out of TensorKind order");
    if (r.group == 0) {
      for (int layer = 0; layer < r.count(c); ++layer) emit(specs, c, r, layer);
      ++i;
      continue;
    }
    // A per-layer family: layer 0 of every member, then layer 1, ...
    size_t end = i;
    int layers = 0;
    while (end < n && kRules[end].group == r.group) layers = std::max(layers, kRules[end++].count(c));
    for (int layer = 0; layer < layers; ++layer)
      for (size_t k = i; k < end; ++k)
        if (layer < kRules[k].count(c)) emit(specs, c, kRules[k], layer);
    i = end;
  }
  return specs;
}

bool isTableTensor(TensorKind k) {
  switch (k) {
    case TensorKind::ItemEmbedding:
    case TensorKind::CatEmbedding:
    case TensorKind::UserEmbedding:
    case TensorKind::WideItem:
    case TensorKind::WideCat:
    case TensorKind::WideCross:
    case TensorKind::WideUser: return true;
    default: return false;
  }
}

bool isTrainableTensor(TensorKind k) {
  switch (k) {
    case TensorKind::BnRunningMean:
    case TensorKind::BnRunningVar:
    case TensorKind::DiceRunningMean:
    case TensorKind::DiceRunningVar: return false;
    default: return true;
  }
}

}  // namespace dien
