#include "net.h"

#include "dense.h"

namespace dien {
namespace train {

namespace {

template <class S>
size_t gradOffset(const GradLayout& gl, TensorKind k, int layer = 0) {
  return static_cast<size_t>(gl.offset[gl.layout->indexOf(k, layer)]);
}

template <class S>
Layer<S> makeLayer(const Params<S>& p, const GradLayout& gl, TensorKind wk, TensorKind bk, int layer, int in, int out) {
  Layer<S> l;
  l.in = in;
  l.out = out;
  l.w = p.get(wk, layer);
  l.b = p.get(bk, layer);
  l.ldT = padded<S>(out);
  l.ldP = padded<S>(in);
  l.wt = transposePadded<S>(l.w, out, in, l.ldT);
  l.wp = padRows<S>(l.w, out, in, l.ldP);
  l.gw = gradOffset<S>(gl, wk, layer);
  l.gb = gradOffset<S>(gl, bk, layer);
  return l;
}

template <class S>
std::vector<Layer<S>> makeStack(const Params<S>& p, const GradLayout& gl, TensorKind wk, TensorKind bk, int in,
                                const std::vector<int>& hidden) {
  std::vector<Layer<S>> layers;
  int width = in;
  for (size_t i = 0; i <= hidden.size(); ++i) {
    const int out = i < hidden.size() ? hidden[i] : 1;
    layers.push_back(makeLayer(p, gl, wk, bk, static_cast<int>(i), width, out));
    width = out;
  }
  return layers;
}

template <class S>
GruParams<S> makeGru(const Params<S>& p, const GradLayout& gl, TensorKind wih, TensorKind whh, TensorKind bih,
                     TensorKind bhh, int in, int H) {
  GruParams<S> g;
  g.in = in;
  g.H = H;
  g.wih = p.get(wih);
  g.whh = p.get(whh);
  g.bih = p.get(bih);
  g.bhh = p.get(bhh);
  g.ldG = padded<S>(3 * H);
  g.wihT = transposePadded<S>(g.wih, 3 * H, in, g.ldG);
  g.ldHT = padded<S>(2 * H + padded<S>(H));
  g.whhT = transposePadded<S>(g.whh, 3 * H, H, g.ldHT);
  g.ldIn = padded<S>(in);
  g.ldH = padded<S>(H);
  g.wihP = padRows<S>(g.wih, 3 * H, in, g.ldIn);
  g.whhP = padRows<S>(g.whh, 3 * H, H, g.ldH);
  g.gwih = gradOffset<S>(gl, wih);
  g.gwhh = gradOffset<S>(gl, whh);
  g.gbih = gradOffset<S>(gl, bih);
  g.gbhh = gradOffset<S>(gl, bhh);
  return g;
}

template <class S>
SplitFirstLayer<S> splitFirst(const Layer<S>& l) {
  SplitFirstLayer<S> s;
  s.kw = l.in / 4;
  s.out = l.out;
  const int kw = s.kw, out = s.out;
  s.wq.resize(static_cast<size_t>(out) * kw);
  s.wk.resize(static_cast<size_t>(out) * kw);
  std::vector<S> wd(static_cast<size_t>(out) * kw);
  for (int o = 0; o < out; ++o)
    for (int j = 0; j < kw; ++j) {
      const S* row = l.w + static_cast<size_t>(o) * 4 * kw;
      const size_t i = static_cast<size_t>(o) * kw + j;
      s.wq[i] = row[j] + row[2 * kw + j];
      s.wk[i] = row[kw + j] - row[2 * kw + j];
      wd[i] = row[3 * kw + j];
    }
  s.ldT = padded<S>(out);
  s.ldP = padded<S>(kw);
  s.wqT = transposePadded<S>(s.wq.data(), out, kw, s.ldT);
  s.wkT = transposePadded<S>(s.wk.data(), out, kw, s.ldT);
  s.wdT = transposePadded<S>(wd.data(), out, kw, s.ldT);
  s.wq = padRows<S>(s.wq.data(), out, kw, s.ldP);
  s.wk = padRows<S>(s.wk.data(), out, kw, s.ldP);
  s.wd = padRows<S>(wd.data(), out, kw, s.ldP);
  return s;
}

}  // namespace

template <class S>
Net<S>::Net(const Config& cfg, const Params<S>& p, const GradLayout& gl) : c(cfg) {
  using K = TensorKind;
  E = c.embedWidth();
  H = c.hidden;
  D = c.mlpInputWidth();
  item = p.get(K::ItemEmbedding);
  cat = p.get(K::CatEmbedding);
  if (c.hasUser()) user = p.get(K::UserEmbedding);
  if (c.hasGru()) {
    ext = makeGru(p, gl, K::ExtractorWeightIh, K::ExtractorWeightHh, K::ExtractorBiasIh, K::ExtractorBiasHh, E, H);
    evo = makeGru(p, gl, K::EvolutionWeightIh, K::EvolutionWeightHh, K::EvolutionBiasIh, K::EvolutionBiasHh, H, H);
    if (c.attention == AttentionKind::Bilinear) {
      bilinear = p.get(K::AttentionBilinear);
      ldBilinear = padded<S>(E);
      bilinearP = padRows<S>(bilinear, H, E, ldBilinear);
      gBilinear = gradOffset<S>(gl, K::AttentionBilinear);
    } else {
      query = makeLayer(p, gl, K::AttentionQueryWeight, K::AttentionQueryBias, 0, E, H);
      querySlope = p.get(K::AttentionQuerySlope);
      gQuerySlope = gradOffset<S>(gl, K::AttentionQuerySlope);
      scorer = makeStack(p, gl, K::AttentionMlpWeight, K::AttentionMlpBias, 4 * H, c.attentionHidden);
    }
    auxOn = c.auxAlpha > 0;
    if (c.hasAuxTensors()) aux = makeStack(p, gl, K::AuxWeight, K::AuxBias, H + E, c.auxHidden);
  }
  if (c.model == ModelKind::Din) scorer = makeStack(p, gl, K::DinMlpWeight, K::DinMlpBias, 4 * E, c.attentionHidden);
  if (!scorer.empty()) split = splitFirst(scorer[0]);
  if (c.mlpBn) {
    bnGamma = p.get(K::BnWeight);
    bnBeta = p.get(K::BnBias);
    gBnGamma = gradOffset<S>(gl, K::BnWeight);
    gBnBeta = gradOffset<S>(gl, K::BnBias);
  }
  int width = D;
  for (size_t i = 0; i < c.mlpHidden.size(); ++i) {
    const int layer = static_cast<int>(i);
    mlp.push_back(makeLayer(p, gl, K::MlpWeight, K::MlpBias, layer, width, c.mlpHidden[i]));
    width = c.mlpHidden[i];
    if (c.activation == Activation::Dice) {
      actParam.push_back(p.get(K::DiceAlpha, layer));
      gActParam.push_back(gradOffset<S>(gl, K::DiceAlpha, layer));
    } else if (c.activation == Activation::Prelu) {
      actParam.push_back(p.get(K::PreluSlope, layer));
      gActParam.push_back(gradOffset<S>(gl, K::PreluSlope, layer));
    }
  }
  mlp.push_back(makeLayer(p, gl, K::OutWeight, K::OutBias, 0, width, 1));
  if (c.model == ModelKind::WideDeep) {
    wideItem = p.get(K::WideItem);
    wideCat = p.get(K::WideCat);
    wideCross = p.get(K::WideCross);
    if (c.hasUser()) wideUser = p.get(K::WideUser);
  }
}

template struct Net<float>;
template struct Net<double>;

}  // namespace train
}  // namespace dien
