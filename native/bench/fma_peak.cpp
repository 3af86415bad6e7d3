#include "fma_peak.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dien {

namespace {

typedef float v8 __attribute__((vector_size(32)));

// 16 independent accumulators of 8 lanes: 16 x 8 x 2 FLOPs per iteration.
__attribute__((noinline)) float fmaChains(long iterations, float seed) {
  v8 acc[16];
  for (int i = 0; i < 16; ++i) acc[i] = v8{} + (seed + i * 1e-3f);
  const v8 m = v8{} + 0.9999999f, a = v8{} + 1e-7f;
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < 16; ++i) acc[i] = acc[i] * m + a;
  }
  v8 s = v8{};
  for (int i = 0; i < 16; ++i) s += acc[i];
  float out = 0;
  for (int j = 0; j < 8; ++j) out += s[j];
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
    best = std::max(best, threads * iterations * 16.0 * 8 * 2 / s * 1e-9);
  }
  return best;
}

}  // namespace dien
