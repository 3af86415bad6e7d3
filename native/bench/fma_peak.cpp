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

// 16 independent accumulators: 16 x kLanes x 2 FLOPs per iteration.
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
    best = std::max(best, threads * iterations * 16.0 * kLanes * 2 / s * 1e-9);
  }
  return best;
}

}  // namespace dien
