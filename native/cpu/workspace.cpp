#include "workspace.h"

#include <algorithm>

namespace dien {

Workspace::Workspace(const Config& cfg, const PackedWeights& pw) { layout(cfg, pw, true); }

size_t Workspace::bytesFor(const Config& cfg, const PackedWeights& pw) {
  Workspace sizing;
  return sizing.layout(cfg, pw, false);
}

// Sizes every buffer; allocates them only when `allocate` (bytesFor() asks first).
size_t Workspace::layout(const Config& cfg, const PackedWeights& pw, bool allocate) {
  size_t bytes = 0;
  auto take = [&](auto& buffer, size_t n) {
    bytes += n * sizeof(buffer[0]);
    if (allocate) buffer.resize(n);
  };
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

  take(X, R * E);
  take(sRec, static_cast<size_t>(kTile) * E);
  take(recOff, kTile);
  take(recLen, kTile);
  take(recCats, kTile);
  if (gru) {
    // The gate loops read whole vectors (ldH lanes) at offsets up to 2H of a row of
    // GI / GH: ldH floats of slack after the last row keep those reads in bounds.
    take(Hs, R * H);
    take(GI, R * ldG + ldH);
    take(GI2, R * ldG + ldH);
    if (cfg.evolution == Evolution::GruAtt) take(H2s, R * H);
    take(h, static_cast<size_t>(kTile) * ldH);
    take(GH, static_cast<size_t>(kTile) * ldG + ldH);
    take(GHn, static_cast<size_t>(kTile) * ldH);
    take(rh, static_cast<size_t>(kTile) * ldH);
    take(q, static_cast<size_t>(kTile) * ldH);
    take(v, static_cast<size_t>(kTile) * ldH);
  }
  if (mlpScorer) {
    take(P, R * ldZ);
    take(c, static_cast<size_t>(kTile) * ldZ);
    take(Q, R * kw);
    take(Z1, R * ldZ);
    take(Z2, R * ldZ);
  }
  take(score, R);
  take(att, R);
  take(ea, static_cast<size_t>(kTile) * E);
  take(ue, static_cast<size_t>(kTile) * std::max(cfg.dUser, 1));
  take(interest, static_cast<size_t>(kTile) * std::max(cfg.interestWidth(), 1));
  take(x, static_cast<size_t>(kTile) * cfg.mlpInputWidth());
  take(m1, static_cast<size_t>(kTile) * ldM);
  take(m2, static_cast<size_t>(kTile) * ldM);
  take(candOff, kTile);
  take(candLen, kTile);
  take(candRec, kTile);
  return bytes;
}

}  // namespace dien
