#include "cpu_backend.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "../common/errors.h"
#include "attention.h"
#include "embed.h"
#include "gemm.h"
#include "output_mlp.h"
#include "recurrence.h"

namespace dien {

namespace {
// scoreRequests cuts a wave of threads x kTile histories into record tiles of
// kRecordTile: several per thread, so that a thread the OS preempts (a server's JS
// thread shares the cores) does not hold up the others, and enough histories per tile
// for the recurrence's small GEMMs to pay.
constexpr int kRecordTilesPerThread = 4;
constexpr int kRecordTile = kTile / kRecordTilesPerThread;

// Scratch memory is sized from the config (maxLen, widths), which no tensor bounds: a
// small file may declare a maxLen that would need terabytes. Checked before allocating.
constexpr double kMaxWorkspaceBytes = 8.0 * (1ull << 30);

int checkedThreads(const Config& c, const PackedWeights& pw, int threads) {
  // One workspace per thread, and scoreRequests' record-only workspaces.
  const int n = std::max(threads, 1);
  const double need = static_cast<double>(Workspace::bytesFor(c, pw)) * n +
                      static_cast<double>(Workspace::bytesFor(c, pw, kRecordTile, false)) * n * kRecordTilesPerThread;
  if (need > kMaxWorkspaceBytes)
    throw ConfigError(cat("config: maxLen ", c.maxLen, " with these widths needs ", need / (1ull << 30),
                          " GiB of scratch memory for ", threads, " threads (at most ",
                          kMaxWorkspaceBytes / (1ull << 30), " GiB); use a smaller maxLen or fewer threads"));
  return threads;
}
}  // namespace

CpuBackend::CpuBackend(const Config& c, const Weights& w, int threads)
    : cfg_(c), weights_(w), pw_(c, w), pool_(checkedThreads(c, pw_, threads)) {
  for (int i = 0; i < pool_.size(); ++i) ws_.push_back(std::make_unique<Workspace>(cfg_, pw_));
}

void CpuBackend::weightsChanged() {
  std::lock_guard<std::mutex> lock(mutex_);
  pw_ = PackedWeights(cfg_, weights_);
}

void CpuBackend::recordStage(Workspace& ws, int n, const int32_t* const* items, const int32_t* const* cats,
                             const int* len) const {
  const int E = cfg_.embedWidth(), H = cfg_.hidden;
  const int rows = embedRecords(cfg_, pw_, ws, n, items, cats, len);
  if (rows == 0) return;
  int kw = E;
  if (cfg_.hasGru()) {
    gemm(rows, ws.X.data(), E, pw_.extractor.wih, ws.GI.data(), ws.ldG, false);
    GruRun ext;
    ext.gru = &pw_.extractor;
    ext.cell = cfg_.gruCell;
    ext.n = n;
    ext.len = len;
    ext.gi = ws.GI.data();
    ext.ldGi = ws.ldG;
    ext.giRow = ws.recOff.data();
    ext.out = ws.Hs.data();
    ext.outRow = ws.recOff.data();
    ext.h = ws.h.data();
    ext.ldh = ws.ldH;
    runGru(ext, ws);
    // Evolution input projections (bias excluded: aigru scales W x, not b).
    gemm(rows, ws.Hs.data(), H, pw_.evolution.wih, ws.GI2.data(), ws.ldG, false);
    kw = H;
    if (cfg_.evolution == Evolution::GruAtt) {
      GruRun second = ext;
      second.gru = &pw_.evolution;
      second.gi = ws.GI2.data();
      second.out = ws.H2s.data();
      runGru(second, ws);
    }
  }
  // The key half of the first scorer layer: once per history row, shared by every candidate.
  if (!pw_.scorer.widths.empty()) gemm(rows, attentionKeys(cfg_, ws), kw, pw_.scorer.wk, ws.P.data(), ws.ldZ, false);
}

void CpuBackend::evolution(const Workspace& rec, Workspace& ws, int n) const {
  GruRun evo;
  evo.gru = &pw_.evolution;
  evo.cell = cfg_.gruCell;
  evo.n = n;
  evo.len = ws.candLen.data();
  evo.gi = rec.GI2.data();
  evo.ldGi = rec.ldG;
  evo.att = ws.att.data();
  evo.attRow = ws.candOff.data();
  evo.scaleInput = cfg_.evolution == Evolution::Aigru;
  evo.mix = cfg_.evolution;
  evo.h = ws.h.data();
  evo.ldh = ws.ldH;
  // Rows of GI2 for candidate j start where its record starts.
  int recRow[kTile];
  for (int j = 0; j < n; ++j) recRow[j] = rec.recOff[ws.candRec[j]];
  evo.giRow = recRow;
  runGru(evo, ws);
  const int width = cfg_.interestWidth();
  for (int j = 0; j < n; ++j)
    std::memcpy(ws.interest.data() + static_cast<size_t>(j) * width, ws.h.data() + static_cast<size_t>(j) * ws.ldH,
                sizeof(float) * width);
}

void CpuBackend::prepareCandidates(const Workspace& rec, Workspace& ws, int n, const Candidate* cands) const {
  const int E = cfg_.embedWidth();
  int rows = 0;
  for (int j = 0; j < n; ++j) {
    ws.candRec[j] = cands[j].rec;
    ws.candLen[j] = rec.recLen[cands[j].rec];
    ws.candOff[j] = rows;
    rows += ws.candLen[j];
    embedTarget(cfg_, pw_, cands[j].item, cands[j].cat, ws.ea.data() + static_cast<size_t>(j) * E);
  }
}

void CpuBackend::candidateStage(const Workspace& rec, Workspace& ws, int n, const Candidate* cands,
                                float* logits) const {
  prepareCandidates(rec, ws, n, cands);
  if (cfg_.hasAttention()) {
    attentionWeights(cfg_, pw_, rec, ws, n);
    if (cfg_.hasGru() && cfg_.evolution != Evolution::GruAtt)
      evolution(rec, ws, n);
    else
      attentionPool(cfg_, rec, ws, n);  // din and gru-att
  }
  outputMlp(cfg_, pw_, rec, ws, n, cands, logits);
}

void CpuBackend::predict(const BatchView& b, float* logits) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t B = b.batch, T = b.steps;
  if (B == 0) return;
  order_.resize(static_cast<size_t>(B));
  // Longest histories first: tiles then hold similar lengths and few steps idle.
  longestFirst(b.histLen, static_cast<size_t>(B), static_cast<int>(T), order_.data(), lengthCounts_);
  const int tiles = static_cast<int>((B + kTile - 1) / kTile);
  pool_.run(tiles, [&](int tile, int worker) {
    Workspace& ws = *ws_[worker];
    const int start = tile * kTile;
    const int n = static_cast<int>(std::min<int64_t>(kTile, B - start));
    const int32_t* items[kTile];
    const int32_t* cats[kTile];
    int len[kTile];
    Candidate cands[kTile];
    for (int j = 0; j < n; ++j) {
      const int idx = order_[start + j];
      items[j] = b.histItem + static_cast<size_t>(idx) * T;
      cats[j] = b.histCat + static_cast<size_t>(idx) * T;
      len[j] = b.histLen[idx];
      cands[j] = Candidate{j, b.targetItem[idx], b.targetCat[idx], b.user ? b.user[idx] : -1, idx};
    }
    recordStage(ws, n, items, cats, len);
    candidateStage(ws, ws, n, cands, logits);
  });
}

// Requests run in waves of at most threads x kTile, longest history first. A wave's
// records are cut into tiles of kRecordTile, each going through the record stage
// once (extractor GRU, evolution input projections, the key half of the scorer:
// everything that does not depend on the candidate). The wave's candidates, listed
// record by record (so each tile of them is sorted by length, as runGru needs), are
// cut into tiles of kTile that read their record tile. Record tiles and candidate
// tiles run as one parallel loop: a candidate tile starts as soon as its record tile is
// done, not when all are, so a thread the OS preempts (a server's JS thread shares the
// cores) holds up nobody for long.
void CpuBackend::scoreRequests(const RequestsView& r, float* logits) {
  std::lock_guard<std::mutex> lock(mutex_);
  requests_.clear();
  lengths_.clear();
  for (int64_t q = 0; q < r.count; ++q)
    if (r.candOff[q + 1] > r.candOff[q]) {  // a request without candidates needs no work
      requests_.push_back(static_cast<int32_t>(q));
      lengths_.push_back(r.historyLength(q));
    }
  const int m = static_cast<int>(requests_.size());
  if (m == 0) return;
  order_.resize(static_cast<size_t>(m));
  longestFirst(lengths_.data(), static_cast<size_t>(m), cfg_.maxLen, order_.data(), lengthCounts_);
  const int workers = pool_.size();
  const int split = workers * kRecordTilesPerThread;
  while (static_cast<int>(recWs_.size()) < split)
    recWs_.push_back(std::make_unique<Workspace>(cfg_, pw_, kRecordTile, false));
  if (!recordDone_) recordDone_ = std::make_unique<std::atomic<bool>[]>(static_cast<size_t>(split));
  auto request = [&](int pos) { return requests_[order_[pos]]; };
  for (int start = 0; start < m; start += workers * kTile) {
    const int count = std::min(m - start, workers * kTile);
    const int per = kRecordTile;
    const int tiles = (count + per - 1) / per;  // at most split
    auto tileRecords = [&](int tile) { return std::min(per, count - tile * per); };
    jobs_.clear();
    for (int tile = 0; tile < tiles; ++tile) {
      recordDone_[tile].store(false, std::memory_order_relaxed);
      int filled = kTile;  // candidates in the last job of this tile
      for (int j = 0; j < tileRecords(tile); ++j) {
        const int32_t q = request(start + tile * per + j);
        for (int32_t k = 0; k < r.candOff[q + 1] - r.candOff[q]; ++k) {
          if (filled == kTile) {
            jobs_.push_back(CandidateJob{tile, j, k});
            filled = 0;
          }
          ++filled;
        }
      }
    }
    // Tasks [0, tiles) are record tiles, the rest candidate tiles. Tasks are taken in
    // order, so a record tile is always taken (and being computed) before any candidate
    // tile waits for it.
    pool_.run(tiles + static_cast<int>(jobs_.size()), [&](int task, int worker) {
      if (task < tiles) {
        // Set even if the stage throws: the pool then reports the error, and no
        // candidate tile may wait forever.
        struct Done {
          std::atomic<bool>& flag;
          ~Done() { flag.store(true, std::memory_order_release); }
        } done{recordDone_[task]};
        const int n = tileRecords(task);
        const int32_t* items[kTile];
        const int32_t* cats[kTile];
        int len[kTile];
        for (int j = 0; j < n; ++j) {
          const int32_t q = request(start + task * per + j);
          items[j] = r.histItem + r.histOff[q];
          cats[j] = r.histCat + r.histOff[q];
          len[j] = r.historyLength(q);
        }
        recordStage(*recWs_[task], n, items, cats, len);
        return;
      }
      const CandidateJob& cj = jobs_[task - tiles];
      while (!recordDone_[cj.tile].load(std::memory_order_acquire)) {
        if (pool_.failed()) return;  // a task failed and the record tile may never run
        std::this_thread::yield();
      }
      const int base = start + cj.tile * per, records = tileRecords(cj.tile);
      Candidate cands[kTile];
      int n = 0;
      for (int j = cj.rec, k = cj.first; j < records && n < kTile; ++j, k = 0) {
        const int32_t q = request(base + j);
        const int32_t user = r.user ? r.user[q] : -1;
        for (int32_t c = r.candOff[q] + k; c < r.candOff[q + 1] && n < kTile; ++c)
          cands[n++] = Candidate{j, r.items[c], r.cats[c], user, c};
      }
      candidateStage(*recWs_[cj.tile], *ws_[worker], n, cands, logits);
    });
  }
}

}  // namespace dien
