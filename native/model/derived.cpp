#include "derived.h"

#include <cmath>

#include "../common/errors.h"

namespace dien {

SplitScorerLayer splitScorerLayer(const float* w0, int a1, int kw) {
  SplitScorerLayer s;
  const size_t n = static_cast<size_t>(a1) * kw;
  s.q.resize(n);
  s.k.resize(n);
  s.qk.resize(n);
  for (int o = 0; o < a1; ++o) {
    const float* row = w0 + static_cast<size_t>(o) * 4 * kw;  // blocks q | k | q - k | q * k
    for (int i = 0; i < kw; ++i) {
      const size_t at = static_cast<size_t>(o) * kw + i;
      s.q[at] = row[i] + row[2 * kw + i];
      s.k[at] = row[kw + i] - row[2 * kw + i];
      s.qk[at] = row[3 * kw + i];
    }
  }
  return s;
}

FoldedBatchNorm foldBatchNorm(const Config& c, const Weights& w) {
  FoldedBatchNorm bn;
  if (!c.mlpBn) return bn;
  const float *g = w.get(TensorKind::BnWeight), *b = w.get(TensorKind::BnBias);
  const float *m = w.get(TensorKind::BnRunningMean), *v = w.get(TensorKind::BnRunningVar);
  const int n = c.mlpInputWidth();
  for (int i = 0; i < n; ++i) {
    const float scale = static_cast<float>(g[i] / std::sqrt(static_cast<double>(v[i]) + c.bnEps));
    bn.scale.push_back(scale);
    bn.shift.push_back(b[i] - m[i] * scale);
  }
  return bn;
}

std::vector<float> diceInvStd(const Config& c, const Weights& w, size_t layer) {
  const float* var = w.get(TensorKind::DiceRunningVar, static_cast<int>(layer));
  std::vector<float> inv(c.mlpHidden[layer]);
  for (size_t k = 0; k < inv.size(); ++k)
    inv[k] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[k]) + c.diceEps));
  return inv;
}

}  // namespace dien
