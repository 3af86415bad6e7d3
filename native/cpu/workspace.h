// Per-thread scratch memory, sized once from the config for one tile of samples, so
// that predict allocates nothing on its hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../model/config.h"
#include "packed_weights.h"

namespace dien {

// Samples per tile: large enough for efficient GEMMs over the tile's rows, small
// enough that B = 1024 still gives every core many tiles to balance.
constexpr int kTile = 32;

// Attention rows the mlp scorer runs through its layers together (attention.cpp): a
// multiple of the GEMM tiles' 6 and 12 rows, and few enough that a block's layers stay
// in the core's cache.
constexpr int kScoreBlock = 48;

// One scored sample of a tile: the record (history) it reads, its target, and where
// its result goes.
struct Candidate {
  int rec;  // record index in the record workspace
  int32_t item, cat, user;
  int64_t outIndex;
};

struct Workspace {
  // Row-major buffers of packed (sample, step) rows of one tile.
  int ldG = 0;  // padded 3H
  int ldH = 0;  // padded H
  int ldZ = 0;  // padded widest scorer layer
  int ldM = 0;  // padded widest output-MLP layer
  // record side: one entry per history
  std::vector<float> X, Hs, H2s, GI, GI2, P, sRec;
  std::vector<int> recOff, recLen;
  std::vector<const int32_t*> recCats;
  // candidate side: one entry per scored sample
  std::vector<float> ea, ue, q, c, v, Q, Z1, Z2, score, att, h, GH, GHn, rh, interest, x, m1, m2;
  std::vector<int> candOff, candLen, candRec;

  // records: the histories the record side holds (a tile of them); candidates: whether
  // there is a candidate side (scoreRequests keeps record-only workspaces).
  Workspace(const Config& cfg, const PackedWeights& pw, int records = kTile, bool candidates = true);
  // What one workspace for this config takes, without allocating it.
  static size_t bytesFor(const Config& cfg, const PackedWeights& pw, int records = kTile, bool candidates = true);

 private:
  Workspace() = default;
  size_t layout(const Config& cfg, const PackedWeights& pw, bool allocate, int records, bool candidates);
};

}  // namespace dien
