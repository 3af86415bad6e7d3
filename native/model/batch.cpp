#include "batch.h"

#include <algorithm>

#include "../common/errors.h"

namespace dien {

namespace {

void checkCount(const char* field, size_t got, int64_t want) {
  if (static_cast<int64_t>(got) != want) throw InputError(cat(field, ": expected ", want, " elements but got ", got));
}

void checkId(const char* field, int64_t index, int32_t id, int64_t vocab) {
  if (id < 0 || id >= vocab) throw InputError(cat(field, "[", index, "]: id ", id, " is outside [0, ", vocab, ")"));
}

void checkHistoryId(const char* field, int64_t b, int64_t t, int32_t id, int64_t vocab) {
  if (id < 0 || id >= vocab)
    throw InputError(cat(field, "[", b, ", ", t, "]: id ", id, " is outside [0, ", vocab, ")"));
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

CandidatesView CandidatesData::view() const {
  CandidatesView v;
  v.length = length;
  v.histItem = histItem.data();
  v.nHistItem = histItem.size();
  v.histCat = histCat.data();
  v.nHistCat = histCat.size();
  v.user = user;
  v.count = static_cast<int64_t>(items.size());
  v.items = items.data();
  v.nItems = items.size();
  v.cats = cats.data();
  v.nCats = cats.size();
  return v;
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
  for (int64_t k = 0; k < cells; ++k) {
    if (b.histItem[k] < 0 || b.histItem[k] >= c.itemVocab)
      checkHistoryId("histItem", k / b.steps, k % b.steps, b.histItem[k], c.itemVocab);
    if (b.histCat[k] < 0 || b.histCat[k] >= c.catVocab)
      checkHistoryId("histCat", k / b.steps, k % b.steps, b.histCat[k], c.catVocab);
  }
}

void longestFirst(const int32_t* len, size_t n, int maxLen, int32_t* order, std::vector<size_t>& counts) {
  counts.assign(static_cast<size_t>(maxLen) + 2, 0);
  for (size_t i = 0; i < n; ++i) ++counts[static_cast<size_t>(maxLen - len[i]) + 1];
  for (size_t k = 1; k < counts.size(); ++k) counts[k] += counts[k - 1];
  for (size_t i = 0; i < n; ++i) order[counts[static_cast<size_t>(maxLen - len[i])]++] = static_cast<int32_t>(i);
}

void validateCandidates(const Config& c, const CandidatesView& v) {
  if (v.length < 0 || v.length > c.maxLen)
    throw InputError(cat("history length: ", v.length, " is outside [0, ", c.maxLen, "]"));
  if (static_cast<int64_t>(v.nHistItem) < v.length)
    throw InputError(cat("histItem: expected at least ", v.length, " elements but got ", v.nHistItem));
  if (static_cast<int64_t>(v.nHistCat) < v.length)
    throw InputError(cat("histCat: expected at least ", v.length, " elements but got ", v.nHistCat));
  if (v.count < 0 || v.count > kMaxRows / std::max<int64_t>(c.maxLen, 1))
    throw InputError(cat("candidate count: expected 0 to ", kMaxRows / std::max<int64_t>(c.maxLen, 1), " but got ",
                         v.count, "; split the candidates"));
  checkCount("items", v.nItems, v.count);
  checkCount("cats", v.nCats, v.count);
  for (int64_t t = 0; t < v.length; ++t) {
    checkId("histItem", t, v.histItem[t], c.itemVocab);
    checkId("histCat", t, v.histCat[t], c.catVocab);
  }
  if (c.hasUser()) {
    if (v.user < 0) throw InputError("user: the model has a user field, so a user id is required");
    checkId("user", 0, v.user, c.userVocab);
  }
  for (int64_t k = 0; k < v.count; ++k) {
    checkId("items", k, v.items[k], c.itemVocab);
    checkId("cats", k, v.cats[k], c.catVocab);
  }
}

}  // namespace dien
