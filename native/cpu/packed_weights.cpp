#include "packed_weights.h"

#include "../common/errors.h"
#include "../model/derived.h"

namespace dien {

namespace {

void packGru(PackedGru& g, const Config& c, const Weights& w, TensorKind wih, TensorKind whh, TensorKind bih,
             TensorKind bhh, int in) {
  const int H = c.hidden;
  g.in = in;
  g.hidden = H;
  g.wih.packTransposed(w.get(wih), 3 * H, in, in);
  if (c.gruCell == GruCell::ResetAfter) {
    g.whh.packTransposed(w.get(whh), 3 * H, H, H);
  } else {
    g.whh.packTransposed(w.get(whh), 2 * H, H, H);
    g.whhN.packTransposed(w.get(whh) + static_cast<size_t>(2) * H * H, H, H, H);
  }
  const int slack = padPanel(H);
  g.bihPadded.assign(w.get(bih), w.get(bih) + 3 * H);
  g.bihPadded.resize(3 * H + slack, 0.0f);
  g.bhhPadded.assign(w.get(bhh), w.get(bhh) + 3 * H);
  g.bhhPadded.resize(3 * H + slack, 0.0f);
  g.bih = g.bihPadded.data();
  g.bhh = g.bhhPadded.data();
}

void packScorer(PackedScorer& s, const Weights& w, TensorKind weight, TensorKind bias, int kw,
                const std::vector<int>& hidden) {
  s.kw = kw;
  s.widths = hidden;
  s.widths.push_back(1);
  const int a1 = s.widths[0];
  const SplitScorerLayer split = splitScorerLayer(w.get(weight, 0), a1, kw);
  s.wq.packTransposed(split.q.data(), a1, kw, kw);
  s.wk.packTransposed(split.k.data(), a1, kw, kw);
  s.wqk.packTransposed(split.qk.data(), a1, kw, kw);
  s.b0 = w.get(bias, 0);
  const size_t n = s.widths.size();
  for (size_t i = 1; i + 1 < n; ++i) {
    s.mid.emplace_back();
    const int layer = static_cast<int>(i);
    s.mid.back().packTransposed(w.get(weight, layer), s.widths[i], s.widths[i - 1], s.widths[i - 1]);
    s.midBias.push_back(w.get(bias, layer));
  }
  if (n > 1) {
    s.wLast = w.get(weight, static_cast<int>(n - 1));
    s.bLast = w.get(bias, static_cast<int>(n - 1));
  }
}

}  // namespace

TableRef TableRef::of(const Weights& w, TensorKind k) {
  const size_t i = w.indexOf(k, 0);
  TableRef t;
  t.cols = static_cast<int>(w.specs()[i].shape[1]);
  t.q = w.quant(i);
  if (t.q.type == StorageType::F32) t.f32 = w.at(i);
  return t;
}

PackedWeights::PackedWeights(const Config& c, const Weights& w) {
  const int E = c.embedWidth(), H = c.hidden;
  using K = TensorKind;
  itemEmb = TableRef::of(w, K::ItemEmbedding);
  catEmb = TableRef::of(w, K::CatEmbedding);
  if (c.hasUser()) userEmb = TableRef::of(w, K::UserEmbedding);
  if (c.hasGru()) {
    packGru(extractor, c, w, K::ExtractorWeightIh, K::ExtractorWeightHh, K::ExtractorBiasIh, K::ExtractorBiasHh, E);
    packGru(evolution, c, w, K::EvolutionWeightIh, K::EvolutionWeightHh, K::EvolutionBiasIh, K::EvolutionBiasHh, H);
    if (c.attention == AttentionKind::Bilinear) {
      bilinear.packTransposed(w.get(K::AttentionBilinear), H, E, E);
    } else {
      query.packTransposed(w.get(K::AttentionQueryWeight), H, E, E);
      queryBias = w.get(K::AttentionQueryBias);
      querySlope = w.get(K::AttentionQuerySlope);
      packScorer(scorer, w, K::AttentionMlpWeight, K::AttentionMlpBias, H, c.attentionHidden);
    }
  }
  if (c.model == ModelKind::Din) packScorer(scorer, w, K::DinMlpWeight, K::DinMlpBias, E, c.attentionHidden);

  mlp.in = c.mlpInputWidth();
  FoldedBatchNorm bn = foldBatchNorm(c, w);
  mlp.bnScale = std::move(bn.scale);
  mlp.bnShift = std::move(bn.shift);
  int prev = mlp.in;
  for (size_t i = 0; i < c.mlpHidden.size(); ++i) {
    const int width = c.mlpHidden[i], layer = static_cast<int>(i);
    mlp.layers.emplace_back();
    mlp.layers.back().packTransposed(w.get(K::MlpWeight, layer), width, prev, prev);
    mlp.bias.push_back(w.get(K::MlpBias, layer));
    if (c.activation == Activation::Dice) {
      mlp.alpha.push_back(w.get(K::DiceAlpha, layer));
      mlp.mean.push_back(w.get(K::DiceRunningMean, layer));
      mlp.invStd.push_back(diceInvStd(c, w, i));
    } else if (c.activation == Activation::Prelu) {
      mlp.slope.push_back(w.get(K::PreluSlope, layer));
    }
    prev = width;
  }
  mlp.wOut = w.get(K::OutWeight);
  mlp.bOut = *w.get(K::OutBias);
  if (c.model == ModelKind::WideDeep) {
    wideItem = TableRef::of(w, K::WideItem);
    wideCat = TableRef::of(w, K::WideCat);
    wideCross = TableRef::of(w, K::WideCross);
    if (c.hasUser()) wideUser = TableRef::of(w, K::WideUser);
  }
}

}  // namespace dien
