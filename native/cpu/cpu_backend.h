// The CPU backend: the reference implementation of MODEL.md and the fast path on
// machines without a GPU. Batches are sorted by history length and cut into tiles of
// kTile samples; tiles run in parallel on a persistent thread pool, each with its own
// workspace. Calls on one backend are serialised; use one model per worker for more.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "../model/backend.h"
#include "../model/batch.h"
#include "../model/config.h"
#include "../model/weights.h"
#include "packed_weights.h"
#include "thread_pool.h"
#include "workspace.h"

namespace dien {

class CpuBackend final : public Backend {
 public:
  // w must outlive the backend.
  CpuBackend(const Config& c, const Weights& w, int threads);

  // out[b] = probability (or logit) of sample b. The batch must have been validated.
  void predict(const BatchView& b, float* out, bool logits) override;
  // out[k] = score of candidate k against the one history. Validated input.
  void scoreCandidates(const CandidatesView& v, float* out, bool logits) override;

  const char* name() const override { return "cpu"; }
  int threads() const override { return pool_.size(); }

 private:
  struct Candidate {
    int rec;  // record index in the record workspace
    int32_t item, cat, user;
    int64_t outIndex;
  };

  // Embeddings, history sums, extractor GRU and every per-history product for n
  // records; rows of record j start at recOff[j] in ws.
  void recordStage(Workspace& ws, int n, const int32_t* const* items, const int32_t* const* cats, const int* len);
  // Attention, evolution and output MLP for n candidates that read the records of rec.
  void candidateStage(const Workspace& rec, Workspace& ws, int n, const Candidate* cands, float* out, bool logits);
  void attention(const Workspace& rec, Workspace& ws, int n);
  void outputMlp(const Workspace& rec, Workspace& ws, int n, const Candidate* cands, float* out, bool logits);

  const Config cfg_;
  const PackedWeights pw_;
  ThreadPool pool_;
  std::vector<std::unique_ptr<Workspace>> ws_;
  std::unique_ptr<Workspace> userWs_;  // scoreCandidates: the shared user history
  std::vector<int32_t> order_;
  std::vector<size_t> lengthCounts_;
  std::mutex mutex_;
};

}  // namespace dien
