#include "workspace.h"

#include <algorithm>

namespace dien {

Workspace::Workspace(const Config& cfg, const PackedWeights& pw, int records, bool candidates) {
  layout(cfg, pw, true, records, candidates);
}

size_t Workspace::bytesFor(const Config& cfg, const PackedWeights& pw, int records, bool candidates) {
  Workspace sizing;
  return sizing.layout(cfg, pw, false, records, candidates);
}

// Sizes every buffer; allocates them only when `allocate` (bytesFor() asks first).
size_t Workspace::layout(const Config& cfg, const PackedWeights& pw, bool allocate, int records, bool candidates) {
  size_t bytes = 0;
  auto take = [&](auto& buffer, size_t n) {
    bytes += n * sizeof(buffer[0]);
    if (allocate) buffer.resize(n);
  };
  const int E = cfg.embedWidth(), H = cfg.hidden, T = cfg.maxLen;
  ldG = padPanel(3 * H);
  ldH = padPanel(H);
  int widest = 1;
  for (int w : pw.scorer.widths) widest = std::max(widest, w);
  ldZ = padPanel(widest);
  int widestMlp = 1;
  for (int w : cfg.mlpHidden) widestMlp = std::max(widestMlp, w);
  ldM = padPanel(widestMlp);
  const size_t R = static_cast<size_t>(records) * T;                // record rows
  const size_t C = static_cast<size_t>(kTile) * T;                  // candidate rows
  const size_t NR = static_cast<size_t>(records);                   // records
  const size_t NG = candidates ? std::max(NR, size_t{kTile}) : NR;  // sequences a GRU runs
  const bool gru = cfg.hasGru();
  const bool mlpScorer = !pw.scorer.widths.empty();
  const int kw = std::max(pw.scorer.kw, 1);

  // Record side: one entry per history.
  take(X, R * E);
  take(sRec, NR * E);
  take(recOff, NR);
  take(recLen, NR);
  take(recCats, NR);
  if (gru) {
    // The gate loops read whole vectors (ldH lanes) at offsets up to 2H of a row of
    // GI / GH: ldH floats of slack after the last row keep those reads in bounds.
    take(Hs, R * H);
    take(GI, R * ldG + ldH);
    take(GI2, R * ldG + ldH);
    if (cfg.evolution == Evolution::GruAtt) take(H2s, R * H);
    take(h, NG * ldH);
    take(GH, NG * ldG + ldH);
    take(GHn, NG * ldH);
    take(rh, NG * ldH);
  }
  if (mlpScorer) take(P, R * ldZ);
  if (!candidates) return bytes;
  // Candidate side: one entry per scored sample.
  const size_t K = static_cast<size_t>(kTile);
  if (gru) {
    take(q, K * ldH);
    take(v, K * ldH);
  }
  if (mlpScorer) {
    take(c, K * ldZ);
    const size_t block = std::min(C, size_t{kScoreBlock});
    take(Q, block * kw);
    take(Z1, block * ldZ);
    take(Z2, block * ldZ);
  }
  take(score, C);
  take(att, C);
  take(ea, K * E);
  take(ue, K * std::max(cfg.dUser, 1));
  take(interest, K * std::max(cfg.interestWidth(), 1));
  take(x, K * cfg.mlpInputWidth());
  take(m1, K * ldM);
  take(m2, K * ldM);
  take(candOff, K);
  take(candLen, K);
  take(candRec, K);
  return bytes;
}

}  // namespace dien
