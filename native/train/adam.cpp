#include "adam.h"

#include "../common/errors.h"

namespace dien {

namespace {
void checkOption(const char* name, double v, bool ok, const char* rule) {
  if (!std::isfinite(v) || !ok) throw InputError(cat(name, ": expected ", rule, " but got ", v));
}
}  // namespace

void AdamOptions::validate() const {
  checkOption("lr", lr, lr > 0, "a number > 0");
  checkOption("betas[0]", beta1, beta1 >= 0 && beta1 < 1, "a number in [0, 1)");
  checkOption("betas[1]", beta2, beta2 >= 0 && beta2 < 1, "a number in [0, 1)");
  checkOption("eps", eps, eps > 0, "a number > 0");
  checkOption("embeddingL2", embeddingL2, embeddingL2 >= 0, "a number >= 0");
  checkOption("clipNorm", clipNorm, clipNorm >= 0, "a number >= 0 (0: no clipping)");
  checkOption("lrDecay", lrDecay, lrDecay > 0 && lrDecay <= 1, "a number in (0, 1]");
}

namespace train {

double gradientSquares(const PassResult<float>& r, const Weights& w, float l2, bool embeddings) {
  double sq = squares(r.dense.size(), r.dense.data(), nullptr, 0.0f);
  for (const auto& t : r.tables) {
    if (!embeddings && isEmbedding(t.kind)) continue;
    const bool decay = l2 > 0 && isEmbedding(t.kind);
    const float* table = w.get(t.kind);
    for (size_t k = 0; k < t.rows.size(); ++k)
      sq += squares(t.width, t.values.data() + k * t.width,
                    decay ? table + static_cast<size_t>(t.rows[k]) * t.width : nullptr, l2);
  }
  return sq;
}

void updateRunningStats(const PassResult<float>& r, Weights& w) {
  for (const auto& st : r.stats) {
    float* mean = w.get(st.meanKind, st.layer);
    float* var = w.get(st.varKind, st.layer);
    for (size_t j = 0; j < st.mean.size(); ++j) {
      mean[j] = 0.99f * mean[j] + 0.01f * st.mean[j];
      var[j] = 0.99f * var[j] + 0.01f * st.var[j];
    }
  }
}

}  // namespace train
}  // namespace dien
