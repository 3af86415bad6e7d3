#include "packed_weights.h"


#include "../common/errors.h"
#include "../model/derived.h"

namespace dien {

namespace {

void packGru(PackedGru& g, const Config& c, const Weights& w, const std::string& wih, const std::string& whh,
             const std::string& bih, const std::string& bhh, int in) {
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

void packScorer(PackedScorer& s, const Weights& w, const std::string& prefix, int kw, const std::vector<int>& hidden) {
  s.kw = kw;
  s.widths = hidden;
  s.widths.push_back(1);
  const int a1 = s.widths[0];
  const SplitScorerLayer split = splitScorerLayer(w.get(cat(prefix, "0.weight")), a1, kw);
  s.wq.packTransposed(split.q.data(), a1, kw, kw);
  s.wk.packTransposed(split.k.data(), a1, kw, kw);
  s.wqk.packTransposed(split.qk.data(), a1, kw, kw);
  s.b0 = w.get(cat(prefix, "0.bias"));
  const size_t n = s.widths.size();
  for (size_t i = 1; i + 1 < n; ++i) {
    s.mid.emplace_back();
    s.mid.back().packTransposed(w.get(cat(prefix, i, ".weight")), s.widths[i], s.widths[i - 1], s.widths[i - 1]);
    s.midBias.push_back(w.get(cat(prefix, i, ".bias")));
  }
  if (n > 1) {
    s.wLast = w.get(cat(prefix, n - 1, ".weight"));
    s.bLast = w.get(cat(prefix, n - 1, ".bias"));
  }
}

}  // namespace

PackedWeights::PackedWeights(const Config& c, const Weights& w) {
  const int E = c.embedWidth(), H = c.hidden;
  itemEmb = w.get("embedding.item.weight");
  catEmb = w.get("embedding.cat.weight");
  if (c.hasUser()) userEmb = w.get("embedding.user.weight");
  if (c.hasGru()) {
    packGru(extractor, c, w, "extractor.weight_ih_l0", "extractor.weight_hh_l0", "extractor.bias_ih_l0",
            "extractor.bias_hh_l0", E);
    packGru(evolution, c, w, "evolution.weight_ih", "evolution.weight_hh", "evolution.bias_ih", "evolution.bias_hh",
            H);
    if (c.attention == AttentionKind::Bilinear) {
      bilinear.packTransposed(w.get("attention.W"), H, E, E);
    } else {
      query.packTransposed(w.get("attention.query.weight"), H, E, E);
      queryBias = w.get("attention.query.bias");
      querySlope = w.get("attention.query_prelu.weight");
      packScorer(scorer, w, "attention.mlp.", H, c.attentionHidden);
    }
  }
  if (c.model == ModelKind::Din) packScorer(scorer, w, "din.mlp.", E, c.attentionHidden);

  mlp.in = c.mlpInputWidth();
  FoldedBatchNorm bn = foldBatchNorm(c, w);
  mlp.bnScale = std::move(bn.scale);
  mlp.bnShift = std::move(bn.shift);
  int prev = mlp.in;
  for (size_t i = 0; i < c.mlpHidden.size(); ++i) {
    const int width = c.mlpHidden[i];
    mlp.layers.emplace_back();
    mlp.layers.back().packTransposed(w.get(cat("mlp.layers.", i, ".weight")), width, prev, prev);
    mlp.bias.push_back(w.get(cat("mlp.layers.", i, ".bias")));
    if (c.activation == Activation::Dice) {
      mlp.alpha.push_back(w.get(cat("mlp.act.", i, ".alpha")));
      mlp.mean.push_back(w.get(cat("mlp.act.", i, ".running_mean")));
      mlp.invStd.push_back(diceInvStd(c, w, i));
    } else if (c.activation == Activation::Prelu) {
      mlp.slope.push_back(w.get(cat("mlp.act.", i, ".weight")));
    }
    prev = width;
  }
  mlp.wOut = w.get("mlp.out.weight");
  mlp.bOut = *w.get("mlp.out.bias");
  if (c.model == ModelKind::WideDeep) {
    wideItem = w.get("wide.item.weight");
    wideCat = w.get("wide.cat.weight");
    wideCross = w.get("wide.cross.weight");
    if (c.hasUser()) wideUser = w.get("wide.user.weight");
  }
}

}  // namespace dien
