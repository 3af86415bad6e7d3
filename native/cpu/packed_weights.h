// Weights re-laid once at load time for the CPU kernels: every matrix transposed and
// padded for gemm(), and the first attention layer split algebraically:
//   W1 [q, k, q-k, q*k] = (W1a + W1c) q + (W1b - W1c) k + W1d (q*k)
// so the k term is one product per history row (shared by every candidate of a user)
// and only the q*k term is per candidate.
#pragma once

#include <cstring>
#include <vector>

#include "../model/config.h"
#include "../model/weights.h"
#include "gemm.h"
#include "row_ops.h"

namespace dien {

struct PackedGru {
  int in = 0, hidden = 0;
  PackedMatrix wih;   // [in, 3H]
  PackedMatrix whh;   // reset-after: [H, 3H]; reset-before: the r, z rows only, [H, 2H]
  PackedMatrix whhN;  // reset-before: the n rows, [H, H]
  // Biases with ldH zeros after the 3H values: the gate loops run over whole vectors
  // (H rounded up to kPanel lanes), so they read up to ldH past the last gate.
  std::vector<float> bihPadded, bhhPadded;
  const float* bih = nullptr;
  const float* bhh = nullptr;
};

// The mlp scorer of docs/model.md §5 over [q, k, q - k, q * k] with key width kw.
struct PackedScorer {
  int kw = 0;
  std::vector<int> widths;   // output width of every layer; the last is 1
  PackedMatrix wq, wk, wqk;  // split first layer
  const float* b0 = nullptr;
  std::vector<PackedMatrix> mid;  // layers 1 .. n-2
  std::vector<const float*> midBias;
  const float* wLast = nullptr;  // last layer as a vector (n > 1)
  const float* bLast = nullptr;
  int firstWidth() const { return widths.front(); }
  bool single() const { return widths.size() == 1; }
};

struct PackedMlp {
  int in = 0;
  std::vector<float> bnScale, bnShift;  // empty without mlpBn
  std::vector<PackedMatrix> layers;
  std::vector<const float*> bias;
  std::vector<const float*> alpha, mean;   // dice
  std::vector<std::vector<float>> invStd;  // dice: 1 / sqrt(var + eps)
  std::vector<const float*> slope;         // prelu
  const float* wOut = nullptr;
  float bOut = 0;
};

// A table (embedding or wide) as the CPU reads it: float32 rows, or quantised rows
// decoded where they are read (docs/model.md §12).
struct TableRef {
  const float* f32 = nullptr;
  QuantTable q;
  int cols = 0;
  explicit operator bool() const { return f32 != nullptr || q.data != nullptr; }
  void row(int64_t id, float* dst) const {
    if (f32)
      copyRow(dst, f32 + id * cols, cols);
    else
      decodeRow(q.type, q.data, q.scales, id, cols, dst);
  }
  // Asks for row id's cache lines ahead of row(): gathered rows of a large table are
  // random reads, and the gather otherwise waits for each in turn.
  void prefetch(int64_t id) const {
    const char* p = f32 ? reinterpret_cast<const char*>(f32 + id * cols) : nullptr;
    if (p == nullptr) return;
    __builtin_prefetch(p);
    __builtin_prefetch(p + sizeof(float) * static_cast<size_t>(cols) - 1);
  }
  float at(int64_t id) const {  // a table of one column (wide-deep)
    return f32 ? f32[id] : decodeAt(q.type, q.data, q.scales, id, 1, 0);
  }
  static TableRef of(const Weights& w, TensorKind k);
};

struct PackedWeights {
  TableRef itemEmb, catEmb, userEmb;
  PackedGru extractor, evolution;
  PackedMatrix query;  // GRU models, mlp attention: W_q^T [E, H]
  const float *queryBias = nullptr, *querySlope = nullptr;
  PackedMatrix bilinear;  // W_a^T [E, H]
  PackedScorer scorer;    // attention.mlp or din.mlp
  PackedMlp mlp;
  TableRef wideItem, wideCat, wideCross, wideUser;

  // Views into w stay valid as long as w lives (the backend owns both).
  PackedWeights(const Config& c, const Weights& w);
};

}  // namespace dien
