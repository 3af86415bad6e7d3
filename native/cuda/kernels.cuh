// The CUDA inference kernels and their launchers. Layouts are padded: history row of
// (record r, step t) is r * T + t; steps t >= L_r are never read for values. Candidate
// j reads record rec[j] (predict: rec is null and candidate j reads record j;
// scoreRequests: the candidates of one request share its record).
// Each kernel file has a CPU twin of the same name in native/cpu/ and shares its gate
// math (ops/gates.h); native/tests/backend_ops.cu compares every op with its twin.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "../ops/gates.h"

namespace dien {
namespace cuda {

// C[M, N] = A[M, K] * W[N, K]^T (+ bias[N]); W as PyTorch stores it.
void gemmAWt(cudaStream_t s, int M, int N, int K, const float* A, const float* W, const float* bias, float* C);

struct GruDev {
  const float* whhT = nullptr;  // [H][3H]: W_hh transposed (r, z, n blocks)
  const float* bih = nullptr;   // [3H]
  const float* bhh = nullptr;   // [3H]
  int H = 0;
};

struct GruLaunch {
  GruDev g;
  GruCell cell = GruCell::ResetAfter;
  Evolution mix = Evolution::GruAtt;  // GruAtt: the plain GRU step
  int n = 0;                          // sequences
  int T = 0;
  const int32_t* rec = nullptr;    // [n] record of sequence j (null: j)
  const int32_t* order = nullptr;  // [n] sequences longest first (null: identity), so that
                                   // a block's sequences end at about the same step
  const int32_t* len = nullptr;    // [records]
  const float* gi = nullptr;       // [records * T, 3H] input projections, no bias
  const float* att = nullptr;      // [n * T] or null
  bool scaleInput = false;         // aigru
  float* out = nullptr;            // [records * T, H] every step's state, or null
  float* hFinal = nullptr;         // [n, H] final state, or null
};
// Shared memory the recurrent kernel needs for hidden width H (W_hh^T + states).
size_t gruSharedBytes(int H);
void gruRecurrent(cudaStream_t s, const GruLaunch& p);

struct EmbedTables {
  const float* item = nullptr;
  const float* cat = nullptr;
  const float* user = nullptr;
  int dItem = 0, dCat = 0, dUser = 0;
};

// X[r * T + t] = [item, cat] embeddings for t < L_r (zeros after); sRec[r] = masked sum.
void embedRecords(cudaStream_t s, const EmbedTables& e, int nrec, int T, const int32_t* histItem,
                  const int32_t* histCat, const int32_t* len, float* X, float* sRec);

// One dense layer as the kernels read it: W^T [in][out] so that threads over outputs
// read consecutive addresses; optional activation parameters per output.
struct LayerDev {
  const float* wT = nullptr;
  const float* bias = nullptr;
  const float* alpha = nullptr;   // dice
  const float* mean = nullptr;    // dice
  const float* invStd = nullptr;  // dice
  const float* slope = nullptr;   // prelu
  int in = 0, out = 0;
};

struct ScorerDev {
  bool bilinear = false;
  const float* waT = nullptr;     // bilinear: W_a^T [E][H]
  const float* queryT = nullptr;  // GRU mlp: W_q^T [E][H]; null for din (q = e_a)
  const float* queryBias = nullptr;
  const float* querySlope = nullptr;
  const float* wqcT = nullptr;  // (W_a + W_c)^T [kw][A1]
  const float* wkT = nullptr;   // (W_b - W_c)^T [kw][A1]
  const float* wdT = nullptr;   // W_d^T [kw][A1]
  const float* b0 = nullptr;
  int a1 = 1;                     // first layer width (1: the first layer is the score)
  const LayerDev* mid = nullptr;  // device array: layers between the first and the last
  int midCount = 0;
  const float* wLast = nullptr;  // last layer: previous width -> 1 (when a1 > 1)
  const float* bLast = nullptr;
  int maxWidth = 1;  // widest layer
  int kw = 0;        // key width (H, or E for din)
};

// The record candidate j reads: rec[j], or j when rec is null.
__host__ __device__ inline int recordOf(const int32_t* rec, int j) { return rec ? rec[j] : j; }

// The candidates of one call as every candidate-side kernel reads them: candidate j
// scores target (item[j], cat[j]) against record recordOf(rec, j).
struct CandidateInputs {
  int n = 0, T = 0;
  const int32_t* rec = nullptr;   // [n] or null
  const int32_t* len = nullptr;   // [records]
  const int32_t* item = nullptr;  // [n]
  const int32_t* cat = nullptr;   // [n]
  const int32_t* user = nullptr;  // [n], null without a user field
};

struct AttentionLaunch {
  ScorerDev sc;
  EmbedTables emb;
  CandidateInputs in;
  const float* keys = nullptr;  // [records * T, kw]
  float* att = nullptr;         // [n * T]
};
// Dynamic shared memory of the attention kernel; throws ConfigError past the device limit.
size_t attentionSharedBytes(const ScorerDev& sc, int T, int E);
void attention(cudaStream_t s, const AttentionLaunch& p, size_t smem);

// interest[j] = sum_t att[j, t] keys[rec(j) * T + t] (din, gru-att).
void attentionPool(cudaStream_t s, const CandidateInputs& in, const float* att, const float* keys, int width,
                   float* interest);

struct MlpDev {
  int din = 0;
  const float* bnScale = nullptr;  // null without mlpBn
  const float* bnShift = nullptr;
  const LayerDev* layers = nullptr;  // device array
  int count = 0;
  int activation = 0;  // 0 dice, 1 prelu, 2 relu
  int maxWidth = 1;
  const float* wOut = nullptr;
  float bOut = 0;
  const float *wideItem = nullptr, *wideCat = nullptr, *wideCross = nullptr, *wideUser = nullptr;
};

struct OutputLaunch {
  MlpDev m;
  EmbedTables emb;
  CandidateInputs in;
  int interestWidth = 0;
  bool pnn = false;
  const int32_t* histCat = nullptr;  // [records * T] (wide hits)
  const float* sRec = nullptr;       // [records, E]
  const float* interest = nullptr;   // [n, interestWidth]
  float* out = nullptr;              // [n] logits
};
size_t outputSharedBytes(const MlpDev& m);
void outputMlp(cudaStream_t s, const OutputLaunch& p, size_t smem);

}  // namespace cuda
}  // namespace dien
