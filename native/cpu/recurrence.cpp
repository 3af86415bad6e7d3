#include "recurrence.h"

#include <cstring>

#include "row_ops.h"

namespace dien {

namespace {

// Sequences whose gate math one loop body interleaves (stepResetAfter). Three chains of
// exp and divide fit AVX-512's 32 vector registers; with 16 (AVX2, SSE, and NEON's
// 32 holding half as many floats each) the extra chains spill and lose more than they
// overlap (measured: docs/perf/cpu.md).
#if defined(__AVX512F__)
constexpr int kInterleave = 3;
#else
constexpr int kInterleave = 1;
#endif

// Gate loops run over Hp = H rounded up to whole vectors, in blocks of kPanel lanes, so
// that every iteration is one full vector op and no scalar epilogue runs the exp math.
// Lanes c >= H read the next gate's values (finite junk) and write only padding.

// reset-after step for NS sequences at once; gh[q] holds W_hh h of sequence q (bias
// added here). Their gate chains (exp, divide) are independent, so interleaving them in
// one loop body lets the core overlap their latencies.
template <Evolution K, int NS>
inline void stepResetAfter(int H, int Hp, const float* const* gi, const float* s, const float* bih,
                           const float* const* gh, const float* bhh, const float* a, float* const* h) {
  for (int c0 = 0; c0 < Hp; c0 += kPanel)
#pragma omp simd
    for (int c = c0; c < c0 + kPanel; ++c) {
#pragma GCC unroll 8
      for (int q = 0; q < NS; ++q) {
        const float r = sigmoid(s[q] * gi[q][c] + bih[c] + gh[q][c] + bhh[c]);
        const float z = sigmoid(s[q] * gi[q][H + c] + bih[H + c] + gh[q][H + c] + bhh[H + c]);
        const float n = gruCandidate(GruCell::ResetAfter, s[q] * gi[q][2 * H + c] + bih[2 * H + c],
                                     gh[q][2 * H + c] + bhh[2 * H + c], r);
        h[q][c] = evolveState(K, a[q], z, n, h[q][c]);
      }
    }
}

// Sequences j .. j + NS - 1 of r at step t through stepResetAfter.
template <Evolution K, int NS>
inline void resetAfterGroup(const GruRun& r, const Workspace& ws, int t, int j) {
  const PackedGru& g = *r.gru;
  const float* gi[NS];
  const float* gh[NS];
  float* h[NS];
  float a[NS], s[NS];
  for (int q = 0; q < NS; ++q) {
    a[q] = r.att ? r.att[r.attRow[j + q] + t] : 0.0f;
    s[q] = r.scaleInput ? a[q] : 1.0f;
    gi[q] = r.gi + static_cast<size_t>(r.giRow[j + q] + t) * r.ldGi;
    gh[q] = ws.GH.data() + static_cast<size_t>(j + q) * ws.ldG;
    h[q] = r.h + static_cast<size_t>(j + q) * r.ldh;
  }
  stepResetAfter<K, NS>(g.hidden, r.ldh, gi, s, g.bih, gh, g.bhh, a, h);
}

// reset-before, first half: rh = r o h.
inline void resetGate(int Hp, const float* gi, float s, const float* bih, const float* gh, const float* bhh,
                      const float* h, float* rh) {
  for (int c0 = 0; c0 < Hp; c0 += kPanel)
#pragma omp simd
    for (int c = c0; c < c0 + kPanel; ++c) rh[c] = sigmoid(s * gi[c] + bih[c] + gh[c] + bhh[c]) * h[c];
}

// reset-before, second half; ghn holds W_hn (r o h).
template <Evolution K>
inline void stepResetBefore(int H, int Hp, const float* gi, float s, const float* bih, const float* gh,
                            const float* ghn, const float* bhh, float a, float* h) {
  for (int c0 = 0; c0 < Hp; c0 += kPanel)
#pragma omp simd
    for (int c = c0; c < c0 + kPanel; ++c) {
      const float z = sigmoid(s * gi[H + c] + bih[H + c] + gh[H + c] + bhh[H + c]);
      const float n =
          gruCandidate(GruCell::ResetBefore, s * gi[2 * H + c] + bih[2 * H + c], ghn[c] + bhh[2 * H + c], 0.0f);
      h[c] = evolveState(K, a, z, n, h[c]);
    }
}

template <Evolution K>
void runGruT(const GruRun& r, Workspace& ws) {
  const PackedGru& g = *r.gru;
  const int H = g.hidden, Hp = r.ldh;
  std::memset(r.h, 0, sizeof(float) * static_cast<size_t>(r.n) * Hp);
  int active = r.n;
  for (int t = 0;; ++t) {
    while (active > 0 && r.len[active - 1] <= t) --active;
    if (active == 0) break;
    gemm(active, r.h, Hp, g.whh, ws.GH.data(), ws.ldG, false);
    if (r.cell == GruCell::ResetAfter) {
      int j = 0;
      for (; j + kInterleave <= active; j += kInterleave) resetAfterGroup<K, kInterleave>(r, ws, t, j);
      for (; j < active; ++j) resetAfterGroup<K, 1>(r, ws, t, j);
    } else {
      for (int j = 0; j < active; ++j) {
        const float s = r.scaleInput ? r.att[r.attRow[j] + t] : 1.0f;
        const float* gi = r.gi + static_cast<size_t>(r.giRow[j] + t) * r.ldGi;
        resetGate(Hp, gi, s, g.bih, ws.GH.data() + static_cast<size_t>(j) * ws.ldG, g.bhh,
                  r.h + static_cast<size_t>(j) * Hp, ws.rh.data() + static_cast<size_t>(j) * Hp);
      }
      gemm(active, ws.rh.data(), Hp, g.whhN, ws.GHn.data(), ws.ldH, false);
      for (int j = 0; j < active; ++j) {
        const float a = r.att ? r.att[r.attRow[j] + t] : 0.0f;
        const float s = r.scaleInput ? a : 1.0f;
        const float* gi = r.gi + static_cast<size_t>(r.giRow[j] + t) * r.ldGi;
        stepResetBefore<K>(H, Hp, gi, s, g.bih, ws.GH.data() + static_cast<size_t>(j) * ws.ldG,
                           ws.GHn.data() + static_cast<size_t>(j) * ws.ldH, g.bhh, a,
                           r.h + static_cast<size_t>(j) * Hp);
      }
    }
    if (r.out)
      for (int j = 0; j < active; ++j)
        copyRow(r.out + static_cast<size_t>(r.outRow[j] + t) * H, r.h + static_cast<size_t>(j) * Hp, H);
  }
}

}  // namespace

void runGru(const GruRun& run, Workspace& ws) {
  switch (run.mix) {
    case Evolution::Augru: runGruT<Evolution::Augru>(run, ws); break;
    case Evolution::AugruOrig: runGruT<Evolution::AugruOrig>(run, ws); break;
    case Evolution::Agru: runGruT<Evolution::Agru>(run, ws); break;
    default: runGruT<Evolution::GruAtt>(run, ws); break;
  }
}

}  // namespace dien
