// Helpers shared by the native tests and benchmark: random weights that exercise
// every tensor (not the init defaults, whose zeros would hide bugs), random batches.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/weights.h"

namespace dien {

inline bool endsWith(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

inline void randomizeWeights(Weights& w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t i = 0; i < w.specs().size(); ++i) {
    const TensorSpec& s = w.specs()[i];
    float* p = w.at(i);
    const bool var = endsWith(s.name, "running_var");
    const float scale = s.shape.size() == 2 && s.name.rfind("embedding", 0) != 0 && s.name.rfind("wide", 0) != 0
                            ? 1.5f / std::sqrt(static_cast<float>(s.shape[1]))
                            : 0.5f;
    for (int64_t k = 0; k < s.numel(); ++k) p[k] = var ? 0.5f + 0.5f * (u(rng) + 1.0f) : scale * u(rng);
  }
}

using OwnedBatch = BatchData;

// Lengths: the first samples take 0, 1 and T, the rest are uniform in [minLen, T].
inline OwnedBatch randomBatch(const Config& c, int64_t B, uint64_t seed, int minLen = 0) {
  std::mt19937_64 rng(seed);
  OwnedBatch b;
  b.B = B;
  b.T = c.maxLen;
  auto id = [&](int64_t vocab) { return static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab)); };
  for (int64_t i = 0; i < B; ++i) {
    b.targetItem.push_back(id(c.itemVocab));
    b.targetCat.push_back(id(c.catVocab));
    int len = minLen + static_cast<int>(rng() % static_cast<uint64_t>(c.maxLen - minLen + 1));
    if (minLen == 0 && i < 3) len = i == 0 ? 0 : i == 1 ? 1 : c.maxLen;
    b.histLen.push_back(len);
    if (c.hasUser()) b.user.push_back(id(c.userVocab));
    for (int t = 0; t < c.maxLen; ++t) {
      b.histItem.push_back(id(c.itemVocab));
      b.histCat.push_back(id(c.catVocab));
    }
  }
  return b;
}

// The history of sample 0 of b (its first L steps) against every target of b.
inline CandidatesView candidatesOf(const OwnedBatch& b, int L) {
  CandidatesView v;
  v.length = L;
  v.histItem = b.histItem.data();
  v.nHistItem = static_cast<size_t>(b.T);
  v.histCat = b.histCat.data();
  v.nHistCat = static_cast<size_t>(b.T);
  v.user = b.user.empty() ? -1 : b.user[0];
  v.count = b.B;
  v.items = b.targetItem.data();
  v.nItems = static_cast<size_t>(b.B);
  v.cats = b.targetCat.data();
  v.nCats = static_cast<size_t>(b.B);
  return v;
}

// ||out - ref||_2 / ||ref||_2 (docs/model.md §14).
template <typename A, typename B>
double relativeError(const A& out, const B& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double d = static_cast<double>(out[i]) - static_cast<double>(ref[i]);
    num += d * d;
    den += static_cast<double>(ref[i]) * static_cast<double>(ref[i]);
  }
  if (!std::isfinite(num)) return INFINITY;
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

}  // namespace dien
