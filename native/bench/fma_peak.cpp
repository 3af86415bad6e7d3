#include "fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dien {

namespace {

// The widest vectors the target has: the peak is what the hardware can do.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float v8 __attribute__((vector_size(kLanes * sizeof(float))));

// Independent accumulators, as many as keep every FMA unit busy and still fit the
// register file with the two constants: a spill would measure the loads, not the FMAs.
// AVX-512 has 32 registers; AVX 16; SSE 16 of half the width (a v8 takes two).
#if defined(__AVX512F__)
constexpr int kChains = 16;
#elif (defined(__x86_64__) || defined(__i386__)) && !defined(__AVX__)
constexpr int kChains = 6;
#else
constexpr int kChains = 12;
#endif

// kChains x kLanes x 2 FLOPs per iteration.
__attribute__((noinline)) float fmaChains(long iterations, float seed) {
  v8 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = v8{} + (seed + i * 1e-3f);
  const v8 m = v8{} + 0.9999999f, a = v8{} + 1e-7f;
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < kChains; ++i) acc[i] = acc[i] * m + a;
  }
  v8 s = v8{};
  for (int i = 0; i < kChains; ++i) s += acc[i];
  float out = 0;
  for (int j = 0; j < kLanes; ++j) out += s[j];
  return out;
}

}  // namespace

double measureFmaPeak(int threads) {
  const long iterations = 20'000'000;
  double best = 0;
  for (int run = 0; run < 3; ++run) {
    std::atomic<float> sink{0};
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { sink.store(sink.load() + fmaChains(iterations, static_cast<float>(t))); });
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, threads * iterations * double(kChains) * kLanes * 2 / s * 1e-9);
  }
  return best;
}

}  // namespace dien
