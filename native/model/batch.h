// The inputs of one call (docs/model.md §2): views the engine reads, the engine-owned
// copies they point into, and their validation. The binding copies every JS array into
// a BatchData / CandidatesData on the JS thread before any work is queued, so nothing
// that runs off that thread reads memory JS can change, detach or free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config.h"

namespace dien {

struct BatchView {
  int64_t batch = 0;  // B
  int64_t steps = 0;  // T of the arrays (must equal config.maxLen)
  const int32_t* targetItem = nullptr;
  const int32_t* targetCat = nullptr;
  const int32_t* histItem = nullptr;  // [B, T]
  const int32_t* histCat = nullptr;   // [B, T]
  const int32_t* histLen = nullptr;
  const int32_t* user = nullptr;  // required exactly when the model has a user field
  // Element counts of the arrays as received, re-checked against B and T.
  size_t nTargetItem = 0, nTargetCat = 0, nHistItem = 0, nHistCat = 0, nHistLen = 0, nUser = 0;
};

// One user's history scored against K candidate items (the paper's same-user batching).
struct CandidatesView {
  int64_t length = 0;                 // L of the history, 0..T
  const int32_t* histItem = nullptr;  // [L] (or more; only the first L are read)
  const int32_t* histCat = nullptr;
  size_t nHistItem = 0, nHistCat = 0;
  int32_t user = -1;  // < 0: absent
  int64_t count = 0;  // K
  const int32_t* items = nullptr;
  const int32_t* cats = nullptr;
  size_t nItems = 0, nCats = 0;
};

// The most (sample, step) rows one call may hold: backends index them with int32.
constexpr int64_t kMaxRows = 2147483647;

// Owned copies of a batch's arrays; view() points into them.
struct BatchData {
  int64_t B = 0, T = 0;
  std::vector<int32_t> targetItem, targetCat, histItem, histCat, histLen, user;
  BatchView view() const;
};

// Owned copies of one user's history and K candidates; view() points into them.
struct CandidatesData {
  int64_t length = 0;
  std::vector<int32_t> histItem, histCat;  // the first `length` behaviours
  int32_t user = -1;
  std::vector<int32_t> items, cats;
  CandidatesView view() const;
};

// order[0..n) = sample indices with the longest histories first, stable (a counting
// sort over lengths 0..maxLen, O(n)); counts is scratch kept by the caller. Lengths must
// be validated. Backends use it so that samples processed together end together.
void longestFirst(const int32_t* len, size_t n, int maxLen, int32_t* order, std::vector<size_t>& counts);

// Throw InputError ("histItem[3, 7]: id 120 is outside [0, 100)") on the first bad value.
void validateBatch(const Config& c, const BatchView& b);
void validateCandidates(const Config& c, const CandidatesView& v);

}  // namespace dien
