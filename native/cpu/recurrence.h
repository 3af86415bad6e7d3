// GRU recurrences over a tile of sequences run in lockstep: per step one small GEMM
// for the recurrent projection of every still-active sequence, then fused gate math.
// Input projections for all steps were computed before as one GEMM per layer.
#pragma once

#include "../ops/gates.h"
#include "packed_weights.h"
#include "workspace.h"

namespace dien {

struct GruRun {
  const PackedGru* gru = nullptr;
  GruCell cell = GruCell::ResetAfter;
  int n = 0;                  // sequences
  const int* len = nullptr;   // lengths, sorted descending
  const float* gi = nullptr;  // input projections without bias; row of (j, t) = giRow[j] + t
  int ldGi = 0;
  const int* giRow = nullptr;
  const float* att = nullptr;  // attention weights a_t (null: plain GRU); row attRow[j] + t
  const int* attRow = nullptr;
  bool scaleInput = false;            // aigru: the input is a_t * x_t
  Evolution mix = Evolution::GruAtt;  // how n and h combine (GruAtt: the plain GRU step)
  float* out = nullptr;               // every step's state, ld H (nullable); row outRow[j] + t
  const int* outRow = nullptr;
  float* h = nullptr;  // [n, ldh]: starts at 0, ends as each sequence's final state
  int ldh = 0;         // padded H (Workspace::ldH); lanes past H hold junk
};

void runGru(const GruRun& run, Workspace& ws);

}  // namespace dien
