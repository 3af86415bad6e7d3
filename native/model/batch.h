// The inputs of one call (docs/model.md §2): views the engine reads, the engine-owned
// copies they point into, and their validation. The binding copies every JS array into
// a BatchData / RequestsData on the JS thread before any work is queued, so nothing
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

// R users, each with a history and K_r candidate items (the paper's same-user batching,
// docs/model.md §15): request r owns history entries [histOff[r], histOff[r+1]) and
// candidates [candOff[r], candOff[r+1]); results come out in candidate order.
struct RequestsView {
  int64_t count = 0;                  // R
  const int32_t* histOff = nullptr;   // [R + 1], histOff[0] = 0, non-decreasing
  const int32_t* candOff = nullptr;   // [R + 1], candOff[0] = 0, non-decreasing
  const int32_t* histItem = nullptr;  // [histOff[R]]
  const int32_t* histCat = nullptr;
  const int32_t* user = nullptr;   // [R], required exactly when the model has a user field
  const int32_t* items = nullptr;  // [candOff[R]]
  const int32_t* cats = nullptr;
  size_t nHistOff = 0, nCandOff = 0, nHistItem = 0, nHistCat = 0, nUser = 0, nItems = 0, nCats = 0;
  int32_t historyLength(int64_t r) const { return histOff[r + 1] - histOff[r]; }
  int64_t candidates() const { return count > 0 ? candOff[count] : 0; }
};

// The most (sample, step) rows one call may hold: backends index them with int32.
constexpr int64_t kMaxRows = 2147483647;

// Owned copies of a batch's arrays; view() points into them.
struct BatchData {
  int64_t B = 0, T = 0;
  std::vector<int32_t> targetItem, targetCat, histItem, histCat, histLen, user;
  BatchView view() const;
};

// Owned copies of the requests' arrays; view() points into them.
struct RequestsData {
  std::vector<int32_t> histOff, candOff, histItem, histCat, user, items, cats;
  RequestsView view() const;
};

// order[0..n) = sample indices with the longest histories first, stable (a counting
// sort over lengths 0..maxLen, O(n)); counts is scratch kept by the caller. Lengths must
// be validated. Backends use it so that samples processed together end together.
void longestFirst(const int32_t* len, size_t n, int maxLen, int32_t* order, std::vector<size_t>& counts);

// Throw InputError ("histItem[3, 7]: id 120 is outside [0, 100)") on the first bad value.
void validateBatch(const Config& c, const BatchView& b);
void validateRequests(const Config& c, const RequestsView& r);

}  // namespace dien
