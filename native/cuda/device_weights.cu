#include "device_weights.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../common/errors.h"
#include "../model/derived.h"
#include "check.h"

namespace dien {
namespace cuda {

namespace {

using K = TensorKind;

std::vector<float> transpose(const float* w, int rows, int cols) {  // [rows][cols] -> [cols][rows]
  std::vector<float> t(static_cast<size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) t[static_cast<size_t>(c) * rows + r] = w[static_cast<size_t>(r) * cols + c];
  return t;
}

// The host image of every device tensor, appended in order, and the pointer fields that
// point into it: upload() copies the image once and aims every field at the device copy.
class HostImage {
 public:
  void add(const float* p, size_t n, const float** field) {
    fixups_.emplace_back(field, data_.size());
    data_.insert(data_.end(), p, p + n);
    while (data_.size() % 32) data_.push_back(0.0f);  // 128-byte alignment for every tensor
  }
  void add(const std::vector<float>& v, const float** field) { add(v.data(), v.size(), field); }
  // A quantised table is decoded to float32 here: the device holds float32 tables.
  void tensor(const Weights& w, K kind, const float** field, int layer = 0) {
    std::vector<float> decoded;
    add(w.floats(w.indexOf(kind, layer), decoded), static_cast<size_t>(w.spec(kind, layer).numel()), field);
  }
  void transposed(const Weights& w, K kind, const float** field, int layer = 0) {
    const TensorSpec& s = w.spec(kind, layer);
    add(transpose(w.get(kind, layer), static_cast<int>(s.shape[0]), static_cast<int>(s.shape[1])), field);
  }
  float* upload() {
    float* base = nullptr;
    DIEN_CUDA_CHECK(cudaMalloc(&base, std::max<size_t>(data_.size(), 1) * sizeof(float)));
    try {
      DIEN_CUDA_CHECK(cudaMemcpy(base, data_.data(), data_.size() * sizeof(float), cudaMemcpyHostToDevice));
    } catch (...) {
      cudaFree(base);
      throw;
    }
    for (const auto& [field, offset] : fixups_) *field = base + offset;
    return base;
  }

 private:
  std::vector<float> data_;
  std::vector<std::pair<const float**, size_t>> fixups_;
};

void addEmbeddings(HostImage& img, const Config& c, const Weights& w, EmbedTables& emb) {
  img.tensor(w, K::ItemEmbedding, &emb.item);
  img.tensor(w, K::CatEmbedding, &emb.cat);
  if (c.hasUser()) img.tensor(w, K::UserEmbedding, &emb.user);
  emb.dItem = c.dItem;
  emb.dCat = c.dCat;
  emb.dUser = c.dUser;
}

// W_ih as gemmAWt reads it, W_hh transposed for the recurrent kernel's shared memory.
void addGru(HostImage& img, const Weights& w, int H, K wih, K whh, K bih, K bhh, const float** wihField, GruDev& g) {
  img.tensor(w, wih, wihField);
  img.transposed(w, whh, &g.whhT);
  img.tensor(w, bih, &g.bih);
  img.tensor(w, bhh, &g.bhh);
  g.H = H;
}

// The attention scorer; its middle layers go to layers[0 .. midCount).
void addScorer(HostImage& img, const Config& c, const Weights& w, ScorerDev& sc, LayerDev* layers) {
  const bool din = c.model == ModelKind::Din;
  const int E = c.embedWidth(), H = c.hidden;
  sc.kw = din ? E : H;
  if (c.hasGru() && c.attention == AttentionKind::Bilinear) {
    sc.bilinear = true;
    img.transposed(w, K::AttentionBilinear, &sc.waT);
    return;
  }
  const K weight = din ? K::DinMlpWeight : K::AttentionMlpWeight;
  const K bias = din ? K::DinMlpBias : K::AttentionMlpBias;
  std::vector<int> widths = c.attentionHidden;
  widths.push_back(1);
  const int a1 = widths[0], kw = sc.kw;
  if (!din) {
    img.transposed(w, K::AttentionQueryWeight, &sc.queryT);
    img.tensor(w, K::AttentionQueryBias, &sc.queryBias);
    img.tensor(w, K::AttentionQuerySlope, &sc.querySlope);
  }
  const SplitScorerLayer split = splitScorerLayer(w.get(weight, 0), a1, kw);
  img.add(transpose(split.q.data(), a1, kw), &sc.wqcT);
  img.add(transpose(split.k.data(), a1, kw), &sc.wkT);
  img.add(transpose(split.qk.data(), a1, kw), &sc.wdT);
  img.tensor(w, bias, &sc.b0);
  sc.a1 = a1;
  sc.maxWidth = a1;
  const int last = static_cast<int>(widths.size()) - 1;
  for (int l = 1; l < last; ++l) {
    LayerDev& ly = layers[l - 1];
    ly.in = widths[l - 1];
    ly.out = widths[l];
    img.transposed(w, weight, &ly.wT, l);
    img.tensor(w, bias, &ly.bias, l);
    sc.maxWidth = std::max(sc.maxWidth, ly.out);
  }
  sc.midCount = std::max(last - 1, 0);
  if (last > 0) {
    img.tensor(w, weight, &sc.wLast, last);
    img.tensor(w, bias, &sc.bLast, last);
  }
}

// The output MLP; its hidden layers go to layers[0 .. mlpHidden.size()).
void addMlp(HostImage& img, const Config& c, const Weights& w, MlpDev& m, LayerDev* layers) {
  m.din = c.mlpInputWidth();
  if (c.mlpBn) {
    const FoldedBatchNorm bn = foldBatchNorm(c, w);
    img.add(bn.scale, &m.bnScale);
    img.add(bn.shift, &m.bnShift);
  }
  int prev = m.din;
  for (size_t i = 0; i < c.mlpHidden.size(); ++i) {
    const int l = static_cast<int>(i);
    LayerDev& ly = layers[i];
    ly.in = prev;
    ly.out = c.mlpHidden[i];
    img.transposed(w, K::MlpWeight, &ly.wT, l);
    img.tensor(w, K::MlpBias, &ly.bias, l);
    if (c.activation == Activation::Dice) {
      img.tensor(w, K::DiceAlpha, &ly.alpha, l);
      img.tensor(w, K::DiceRunningMean, &ly.mean, l);
      img.add(diceInvStd(c, w, i), &ly.invStd);
    } else if (c.activation == Activation::Prelu) {
      img.tensor(w, K::PreluSlope, &ly.slope, l);
    }
    m.maxWidth = std::max(m.maxWidth, ly.out);
    prev = ly.out;
  }
  m.count = static_cast<int>(c.mlpHidden.size());
  m.activation = c.activation == Activation::Dice ? 0 : c.activation == Activation::Prelu ? 1 : 2;
  img.tensor(w, K::OutWeight, &m.wOut);
  m.bOut = *w.get(K::OutBias);
  if (c.model == ModelKind::WideDeep) {
    img.tensor(w, K::WideItem, &m.wideItem);
    img.tensor(w, K::WideCat, &m.wideCat);
    img.tensor(w, K::WideCross, &m.wideCross);
    if (c.hasUser()) img.tensor(w, K::WideUser, &m.wideUser);
  }
}

int scorerMidLayers(const Config& c) {
  const bool mlpScorer = c.model == ModelKind::Din || (c.hasGru() && c.attention == AttentionKind::Mlp);
  return mlpScorer ? std::max(static_cast<int>(c.attentionHidden.size()) - 1, 0) : 0;
}

}  // namespace

DeviceWeights::DeviceWeights(const Config& c, const Weights& w, size_t smemLimit) {
  const int H = c.hidden;
  if (c.hasGru() && gruSharedBytes(H) > smemLimit)
    throw ConfigError(cat("the CUDA recurrent kernel holds W_hh in shared memory: hidden ", H, " needs ",
                          gruSharedBytes(H), " bytes, the device allows ", smemLimit));
  const int mid = scorerMidLayers(c);
  std::vector<LayerDev> layers(static_cast<size_t>(mid) +
                               c.mlpHidden.size());  // sized once: fields are fixed up in place
  HostImage img;
  addEmbeddings(img, c, w, emb);
  if (c.hasGru()) {
    addGru(img, w, H, K::ExtractorWeightIh, K::ExtractorWeightHh, K::ExtractorBiasIh, K::ExtractorBiasHh, &extractorWih,
           extractor);
    addGru(img, w, H, K::EvolutionWeightIh, K::EvolutionWeightHh, K::EvolutionBiasIh, K::EvolutionBiasHh, &evolutionWih,
           evolution);
  }
  if (c.hasAttention()) addScorer(img, c, w, scorer, layers.data());
  addMlp(img, c, w, mlp, layers.data() + mid);
  // Shared memory depends on the widths only: check before anything is allocated.
  if (c.hasAttention()) {
    attentionSmem = attentionSharedBytes(scorer, c.maxLen, c.embedWidth());
    if (attentionSmem > smemLimit)
      throw ConfigError(cat("the CUDA attention kernel needs ", attentionSmem,
                            " bytes of shared memory for this config, the device allows ", smemLimit));
  }
  outputSmem = outputSharedBytes(mlp);
  if (outputSmem > smemLimit)
    throw ConfigError(
        cat("the CUDA output kernel needs ", outputSmem, " bytes of shared memory, the device allows ", smemLimit));
  data_ = img.upload();
  if (!layers.empty()) {
    try {
      DIEN_CUDA_CHECK(cudaMalloc(&layers_, layers.size() * sizeof(LayerDev)));
      DIEN_CUDA_CHECK(cudaMemcpy(layers_, layers.data(), layers.size() * sizeof(LayerDev), cudaMemcpyHostToDevice));
    } catch (...) {
      release();  // the constructor throws: free what it took
      throw;
    }
  }
  scorer.mid = mid > 0 ? layers_ : nullptr;
  mlp.layers = c.mlpHidden.empty() ? nullptr : layers_ + mid;
}

DeviceWeights::~DeviceWeights() { release(); }

void DeviceWeights::release() {
  if (data_) cudaFree(data_);
  if (layers_) cudaFree(layers_);
  data_ = nullptr;
  layers_ = nullptr;
}

}  // namespace cuda
}  // namespace dien
