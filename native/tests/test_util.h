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

// Requests over the samples of b: request r is sample r's history (its histLen steps)
// against the targets of samples [first[r], first[r + 1]) (first holds R + 1 entries).
// expanded() is the batch predict() must score identically, one sample per candidate.
struct OwnedRequests {
  RequestsData data;
  OwnedBatch expanded;
};

inline OwnedRequests requestsOf(const OwnedBatch& b, const std::vector<int>& first) {
  OwnedRequests o;
  RequestsData& r = o.data;
  OwnedBatch& e = o.expanded;
  e.T = b.T;
  r.histOff.push_back(0);
  r.candOff.push_back(0);
  for (size_t q = 0; q + 1 < first.size(); ++q) {
    const size_t row = q * static_cast<size_t>(b.T);
    const int L = b.histLen[q];
    r.histItem.insert(r.histItem.end(), b.histItem.begin() + row, b.histItem.begin() + row + L);
    r.histCat.insert(r.histCat.end(), b.histCat.begin() + row, b.histCat.begin() + row + L);
    r.histOff.push_back(static_cast<int32_t>(r.histItem.size()));
    if (!b.user.empty()) r.user.push_back(b.user[q]);
    for (int k = first[q]; k < first[q + 1]; ++k) {
      r.items.push_back(b.targetItem[k]);
      r.cats.push_back(b.targetCat[k]);
      e.targetItem.push_back(b.targetItem[k]);
      e.targetCat.push_back(b.targetCat[k]);
      e.histLen.push_back(L);
      e.histItem.insert(e.histItem.end(), b.histItem.begin() + row, b.histItem.begin() + row + b.T);
      e.histCat.insert(e.histCat.end(), b.histCat.begin() + row, b.histCat.begin() + row + b.T);
      if (!b.user.empty()) e.user.push_back(b.user[q]);
    }
    r.candOff.push_back(static_cast<int32_t>(r.items.size()));
  }
  e.B = static_cast<int64_t>(e.targetItem.size());
  return o;
}

// The history of sample 0 of b, cut to its first L steps, against every target of b.
inline OwnedRequests candidatesOf(OwnedBatch b, int L) {
  b.histLen[0] = L;
  return requestsOf(b, {0, static_cast<int>(b.B)});
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
