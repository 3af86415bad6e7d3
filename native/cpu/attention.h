// Attention over a tile of candidates (docs/model.md §5; din's scorer, §10): scores,
// masked softmax, and attention pooling. CUDA twin: cuda/attention.cu.
#pragma once

#include "../model/config.h"
#include "packed_weights.h"
#include "workspace.h"

namespace dien {

// The keys attention scores for this model: X (din), the evolution GRU's states
// (gru-att) or the extractor's states, in rec's packed rows.
const float* attentionKeys(const Config& c, const Workspace& rec);

// ws.att[ws.candOff[j] + t] = a_t of candidate j over the keys of record ws.candRec[j],
// t < ws.candLen[j]. Reads ws.ea (e_a per candidate) and rec.P (the key half of the
// first scorer layer, computed once per record).
void attentionWeights(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n);

// ws.interest[j] = sum_t a_t k_t: the interest of din and gru-att.
void attentionPool(const Config& c, const Workspace& rec, Workspace& ws, int n);

}  // namespace dien
