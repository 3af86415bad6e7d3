// Embedding gather for a tile of histories (docs/model.md §3) and their masked sums s
// (§7). CUDA twin: cuda/embed.cu.
#pragma once

#include <cstdint>

#include "../model/config.h"
#include "packed_weights.h"
#include "workspace.h"

namespace dien {

// For records j < n: the rows of e_b[t], t < len[j], packed from ws.recOff[j] in ws.X,
// and ws.sRec[j] = sum of those rows. Sets ws.recOff / recLen / recCats; returns the
// total row count.
int embedRecords(const Config& c, const PackedWeights& pw, Workspace& ws, int n, const int32_t* const* items,
                 const int32_t* const* cats, const int* len);

// e_a = [itemEmb[item], catEmb[cat]] of one target into dst[E].
void embedTarget(const Config& c, const PackedWeights& pw, int32_t item, int32_t cat, float* dst);

}  // namespace dien
