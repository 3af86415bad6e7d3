// The CPU backend: the reference implementation of docs/model.md and the fast path on
// machines without a GPU. Batches are sorted by history length and cut into tiles of
// kTile samples; tiles run in parallel on a persistent thread pool, each with its own
// workspace. The ops live in files named like their CUDA twins (embed, gemm,
// recurrence, attention, output_mlp); this file orchestrates them.
//
// One call runs at a time (the mutex is a safety net: the TypeScript layer queues calls
// per model, so that waiting never occupies a libuv thread).
#pragma once

#include <atomic>
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

  void predict(const BatchView& b, float* logits) override;
  void scoreRequests(const RequestsView& r, float* logits) override;
  void weightsChanged() override;  // repacks: the packed copies are derived from the weights

  const char* name() const override { return "cpu"; }
  int threads() const override { return pool_.size(); }

  // The stages, public for the op-level tests that compare each CUDA op with its twin.
  // Record stage: embeddings, history sums, extractor GRU and every per-history product
  // for n records (lengths in descending order); rows of record j start at ws.recOff[j].
  void recordStage(Workspace& ws, int n, const int32_t* const* items, const int32_t* const* cats, const int* len) const;
  // The candidates' rows (ws.candRec / candLen / candOff) and targets e_a (ws.ea).
  void prepareCandidates(const Workspace& rec, Workspace& ws, int n, const Candidate* cands) const;
  // Candidate stage: attention, evolution and output MLP for n candidates reading rec.
  void candidateStage(const Workspace& rec, Workspace& ws, int n, const Candidate* cands, float* logits) const;
  // The evolution GRU gated by ws.att; final states into ws.interest.
  void evolution(const Workspace& rec, Workspace& ws, int n) const;
  const PackedWeights& packed() const { return pw_; }

 private:
  const Config cfg_;
  const Weights& weights_;
  PackedWeights pw_;
  ThreadPool pool_;
  std::vector<std::unique_ptr<Workspace>> ws_;
  // scoreRequests: the records (histories) of one wave, one workspace per record tile,
  // made on first use so that a predict-only model never holds them.
  std::vector<std::unique_ptr<Workspace>> recWs_;
  struct CandidateJob {
    int tile, rec, first;  // record tile; its first record and candidate offset in that record
  };
  std::vector<CandidateJob> jobs_;
  std::unique_ptr<std::atomic<bool>[]> recordDone_;  // per record tile of the current wave
  std::vector<int32_t> order_, requests_, lengths_;
  std::vector<size_t> lengthCounts_;
  std::mutex mutex_;
};

}  // namespace dien
