// The output network of a tile of candidates (docs/model.md §7, with pnn's products and
// wide-deep's wide part from §10): x = [user, e_a, s, e_a * s, interest], batch norm,
// the hidden layers, the output layer. CUDA twin: cuda/output_mlp.cu.
#pragma once

#include "../model/config.h"
#include "packed_weights.h"
#include "workspace.h"

namespace dien {

// out[cands[j].outIndex] = logit of candidate j. Reads ws.ea, ws.interest and the
// records' sums rec.sRec.
void outputMlp(const Config& c, const PackedWeights& pw, const Workspace& rec, Workspace& ws, int n,
               const Candidate* cands, float* out);

}  // namespace dien
