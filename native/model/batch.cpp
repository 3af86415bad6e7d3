#include "batch.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "../common/errors.h"

namespace dien {

namespace {

void checkCount(const char* field, size_t got, int64_t want) {
  if (static_cast<int64_t>(got) != want) throw InputError(cat(field, ": expected ", want, " elements but got ", got));
}

void checkId(const char* field, int64_t index, int32_t id, int64_t vocab) {
  if (id < 0 || id >= vocab) throw InputError(cat(field, "[", index, "]: id ", id, " is outside [0, ", vocab, ")"));
}

// An id at [row, col] of a field (a history step, a request's candidate).
void checkIdAt(const char* field, int64_t b, int64_t t, int32_t id, int64_t vocab) {
  if (id < 0 || id >= vocab)
    throw InputError(cat(field, "[", b, ", ", t, "]: id ", id, " is outside [0, ", vocab, ")"));
}

// The first k in [0, n) with ids[k] outside [0, vocab), or -1. A batch of 1024 samples
// holds 200k history ids: the scan is a branch-free OR over blocks (vector compares at
// every ISA level) and only a block that holds a bad id is searched for it.
int64_t firstOutside(const int32_t* ids, int64_t n, int64_t vocab) {
  const uint32_t limit = static_cast<uint32_t>(std::clamp<int64_t>(vocab, 0, INT32_MAX));
  constexpr int64_t kBlock = 1024;
  for (int64_t k0 = 0; k0 < n; k0 += kBlock) {
    const int64_t k1 = std::min(n, k0 + kBlock);
    uint32_t bad = 0;
    for (int64_t k = k0; k < k1; ++k) bad |= static_cast<uint32_t>(static_cast<uint32_t>(ids[k]) >= limit);
    if (bad)
      for (int64_t k = k0; k < k1; ++k)
        if (static_cast<uint32_t>(ids[k]) >= limit) return k;
  }
  return -1;
}

}  // namespace

BatchView BatchData::view() const {
  BatchView b;
  b.batch = B;
  b.steps = T;
  b.targetItem = targetItem.data();
  b.nTargetItem = targetItem.size();
  b.targetCat = targetCat.data();
  b.nTargetCat = targetCat.size();
  b.histItem = histItem.data();
  b.nHistItem = histItem.size();
  b.histCat = histCat.data();
  b.nHistCat = histCat.size();
  b.histLen = histLen.data();
  b.nHistLen = histLen.size();
  if (!user.empty()) {
    b.user = user.data();
    b.nUser = user.size();
  }
  return b;
}

RequestsView RequestsData::view() const {
  RequestsView r;
  r.count = histOff.empty() ? 0 : static_cast<int64_t>(histOff.size()) - 1;
  r.histOff = histOff.data();
  r.nHistOff = histOff.size();
  r.candOff = candOff.data();
  r.nCandOff = candOff.size();
  r.histItem = histItem.data();
  r.nHistItem = histItem.size();
  r.histCat = histCat.data();
  r.nHistCat = histCat.size();
  if (!user.empty()) {
    r.user = user.data();
    r.nUser = user.size();
  }
  r.items = items.data();
  r.nItems = items.size();
  r.cats = cats.data();
  r.nCats = cats.size();
  return r;
}

void validateBatch(const Config& c, const BatchView& b) {
  if (b.batch < 0) throw InputError(cat("batch size: expected >= 0 but got ", b.batch));
  if (b.steps != c.maxLen)
    throw InputError(cat("histItem: rows of ", b.steps, " steps but the model's maxLen is ", c.maxLen));
  // Backends index (sample, step) rows with 32-bit ints.
  if (b.batch > kMaxRows / std::max<int64_t>(b.steps, 1))
    throw InputError(cat("batch size: ", b.batch, " samples x maxLen ", b.steps, " exceed ", kMaxRows,
                         " history rows; split the batch"));
  checkCount("targetItem", b.nTargetItem, b.batch);
  checkCount("targetCat", b.nTargetCat, b.batch);
  checkCount("histLen", b.nHistLen, b.batch);
  checkCount("histItem", b.nHistItem, b.batch * b.steps);
  checkCount("histCat", b.nHistCat, b.batch * b.steps);
  if (c.hasUser()) {
    // An empty typed array may have no data pointer: only a non-empty batch needs one.
    if (!b.user && b.batch > 0) throw InputError("user: the model has a user field, so user ids are required");
    checkCount("user", b.nUser, b.batch);
  }
  for (int64_t i = 0; i < b.batch; ++i) {
    checkId("targetItem", i, b.targetItem[i], c.itemVocab);
    checkId("targetCat", i, b.targetCat[i], c.catVocab);
    if (b.histLen[i] < 0 || b.histLen[i] > b.steps)
      throw InputError(cat("histLen[", i, "]: length ", b.histLen[i], " is outside [0, ", b.steps, "]"));
    if (c.hasUser()) checkId("user", i, b.user[i], c.userVocab);
  }
  const int64_t cells = b.batch * b.steps;
  const int64_t item = firstOutside(b.histItem, cells, c.itemVocab);
  const int64_t cat = firstOutside(b.histCat, cells, c.catVocab);
  // The earlier cell is reported, histItem first at the same cell (as a plain scan would).
  if (item >= 0 && (cat < 0 || item <= cat))
    checkIdAt("histItem", item / b.steps, item % b.steps, b.histItem[item], c.itemVocab);
  if (cat >= 0) checkIdAt("histCat", cat / b.steps, cat % b.steps, b.histCat[cat], c.catVocab);
}

void longestFirst(const int32_t* len, size_t n, int maxLen, int32_t* order, std::vector<size_t>& counts) {
  counts.assign(static_cast<size_t>(maxLen) + 2, 0);
  for (size_t i = 0; i < n; ++i) ++counts[static_cast<size_t>(maxLen - len[i]) + 1];
  for (size_t k = 1; k < counts.size(); ++k) counts[k] += counts[k - 1];
  for (size_t i = 0; i < n; ++i) order[counts[static_cast<size_t>(maxLen - len[i])]++] = static_cast<int32_t>(i);
}

namespace {
// off[0] = 0, non-decreasing, each span at most maxSpan, off[R] = total elements.
void checkOffsets(const char* field, const char* span, const int32_t* off, size_t nOff, int64_t R, int64_t maxSpan,
                  size_t total) {
  checkCount(field, nOff, R + 1);
  if (off[0] != 0) throw InputError(cat(field, "[0]: expected 0 but got ", off[0]));
  for (int64_t r = 0; r < R; ++r) {
    const int64_t len = static_cast<int64_t>(off[r + 1]) - off[r];
    if (len < 0)
      throw InputError(cat(field, "[", r + 1, "]: ", off[r + 1], " is below ", field, "[", r, "] = ", off[r]));
    if (len > maxSpan) throw InputError(cat("request ", r, ": ", len, " ", span, " exceed the limit of ", maxSpan));
  }
  if (static_cast<size_t>(off[R]) != total)
    throw InputError(cat(field, "[", R, "]: ", off[R], " but the arrays hold ", total, " elements"));
}
}  // namespace

void validateRequests(const Config& c, const RequestsView& r) {
  // Backends index (request, step) and (candidate, step) rows with 32-bit ints, as
  // (sample, step) rows in predict.
  const int64_t maxRows = kMaxRows / std::max<int64_t>(c.maxLen, 1);
  if (r.count < 0 || r.count > maxRows)
    throw InputError(cat("request count: expected 0 to ", maxRows, " but got ", r.count, "; split the requests"));
  if (r.count == 0) {
    if (r.nItems != 0 || r.nHistItem != 0) throw InputError("requests: no offsets but some history or candidates");
    return;
  }
  checkCount("histCat", r.nHistCat, static_cast<int64_t>(r.nHistItem));
  checkCount("cats", r.nCats, static_cast<int64_t>(r.nItems));
  checkOffsets("histOffsets", "history entries", r.histOff, r.nHistOff, r.count, c.maxLen, r.nHistItem);
  checkOffsets("candOffsets", "candidates", r.candOff, r.nCandOff, r.count, maxRows, r.nItems);
  if (static_cast<int64_t>(r.nItems) > maxRows)
    throw InputError(cat("candidate count: expected 0 to ", maxRows, " but got ", r.nItems, "; split the requests"));
  if (c.hasUser()) {
    if (!r.user) throw InputError("user: the model has a user field, so user ids are required");
    checkCount("user", r.nUser, r.count);
  }
  for (int64_t q = 0; q < r.count; ++q) {
    for (int32_t k = r.histOff[q]; k < r.histOff[q + 1]; ++k) {
      checkIdAt("histItem", q, k - r.histOff[q], r.histItem[k], c.itemVocab);
      checkIdAt("histCat", q, k - r.histOff[q], r.histCat[k], c.catVocab);
    }
    for (int32_t k = r.candOff[q]; k < r.candOff[q + 1]; ++k) {
      checkIdAt("items", q, k - r.candOff[q], r.items[k], c.itemVocab);
      checkIdAt("cats", q, k - r.candOff[q], r.cats[k], c.catVocab);
    }
    if (c.hasUser()) checkId("user", q, r.user[q], c.userVocab);
  }
}

}  // namespace dien
