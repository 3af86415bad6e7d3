#include "workspace.h"

#include <algorithm>

namespace dien {

Workspace::Workspace(const Config& cfg, const PackedWeights& pw) {
  const int E = cfg.embedWidth(), H = cfg.hidden, T = cfg.maxLen;
  rows = kTile * T;
  ldG = padPanel(3 * H);
  ldH = padPanel(H);
  int widest = 1;
  for (int w : pw.scorer.widths) widest = std::max(widest, w);
  ldZ = padPanel(widest);
  int widestMlp = 1;
  for (int w : cfg.mlpHidden) widestMlp = std::max(widestMlp, w);
  ldM = padPanel(widestMlp);
  const size_t R = static_cast<size_t>(rows);
  const bool gru = cfg.hasGru();
  const bool mlpScorer = !pw.scorer.widths.empty();
  const int kw = std::max(pw.scorer.kw, 1);

  X.resize(R * E);
  sRec.resize(static_cast<size_t>(kTile) * E);
  recOff.resize(kTile);
  recLen.resize(kTile);
  recCats.resize(kTile);
  if (gru) {
    // The gate loops read whole vectors (ldH lanes) at offsets up to 2H of a row of
    // GI / GH: ldH floats of slack after the last row keep those reads in bounds.
    Hs.resize(R * H);
    GI.resize(R * ldG + ldH);
    GI2.resize(R * ldG + ldH);
    if (cfg.evolution == Evolution::GruAtt) H2s.resize(R * H);
    h.resize(static_cast<size_t>(kTile) * ldH);
    GH.resize(static_cast<size_t>(kTile) * ldG + ldH);
    GHn.resize(static_cast<size_t>(kTile) * ldH);
    rh.resize(static_cast<size_t>(kTile) * ldH);
    q.resize(static_cast<size_t>(kTile) * ldH);
    v.resize(static_cast<size_t>(kTile) * ldH);
  }
  if (mlpScorer) {
    P.resize(R * ldZ);
    c.resize(static_cast<size_t>(kTile) * ldZ);
    Q.resize(R * kw);
    Z1.resize(R * ldZ);
    Z2.resize(R * ldZ);
  }
  score.resize(R);
  att.resize(R);
  ea.resize(static_cast<size_t>(kTile) * E);
  ue.resize(static_cast<size_t>(kTile) * std::max(cfg.dUser, 1));
  interest.resize(static_cast<size_t>(kTile) * std::max(cfg.interestWidth(), 1));
  x.resize(static_cast<size_t>(kTile) * cfg.mlpInputWidth());
  m1.resize(static_cast<size_t>(kTile) * ldM);
  m2.resize(static_cast<size_t>(kTile) * ldM);
  candOff.resize(kTile);
  candLen.resize(kTile);
  candRec.resize(kTile);
}

}  // namespace dien
