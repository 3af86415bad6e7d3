// Native benchmark: the same workload as `npm run bench` without Node.
//   dien_bench [--device cpu|cuda] [--threads N] [--hidden H] [--maxlen T] [--reps R]
//              [--batches 1,128,1024] [--peak 1] [--save model.safetensors]
// --peak 1 prints each row's fraction of the fp32 peak: measured with an FMA
// microbenchmark on the CPU, from the device's multiprocessors and clock on CUDA.
// Latency is end to end (host arrays in, host array out). Inputs rotate among three
// random batches so that repeated runs do not measure a warm cache.
// Paper defaults (docs/performance.md): E = 36, H = 36, T = 100, mlp attention, augru,
// dice MLP [200, 80], lengths uniform in 1..100. Prints median samples/s and latency.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "../tests/test_util.h"
#include "cuda/device_probe.h"
#include "fma_peak.h"
#include "model/engine.h"

using namespace dien;

namespace {

double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Forward FLOPs of one sample of history length L (multiply-add = 2), as docs/performance.md counts them.
double flopsPerSample(const Config& c, int L) {
  const double E = c.embedWidth(), H = c.hidden;
  double att = 0, prev = 4 * H;
  for (int w : c.attentionHidden) {
    att += 2 * prev * w;
    prev = w;
  }
  att += 2 * prev;
  double mlp = 0;
  prev = c.mlpInputWidth();
  for (int w : c.mlpHidden) {
    mlp += 2 * prev * w;
    prev = w;
  }
  mlp += 2 * prev;
  return L * (2 * E * 3 * H + 2 * H * 3 * H) + 2 * E * H + L * att + L * (4 * H * 3 * H) + mlp;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, hidden = 36, reps = 0, peak = 0, maxLen = 100;
  std::string device = "cpu", savePath;
  std::vector<int> batches;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (a == "--hidden")
      hidden = std::atoi(argv[i + 1]);
    else if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
    else if (a == "--peak")
      peak = std::atoi(argv[i + 1]);
    else if (a == "--maxlen")
      maxLen = std::atoi(argv[i + 1]);
    else if (a == "--device")
      device = argv[i + 1];
    else if (a == "--save")
      savePath = argv[i + 1];
    else if (a == "--batches") {
      batches.clear();
      for (char* p = std::strtok(argv[i + 1], ","); p; p = std::strtok(nullptr, ",")) batches.push_back(std::atoi(p));
    } else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  Config c;
  c.model = ModelKind::Dien;
  c.itemVocab = 100000;
  c.catVocab = 1000;
  c.userVocab = 100000;
  c.dUser = 18;
  c.hidden = hidden;
  c.maxLen = maxLen;
  c.auxAlpha = 1.0;
  if (batches.empty())
    batches = device == "cuda" ? std::vector<int>{1, 128, 1024, 8192} : std::vector<int>{1, 128, 1024};
  EngineOptions o;
  o.threads = threads;
  o.device = device;
  std::shared_ptr<Engine> engine;
  try {
    engine = Engine::create(c, 1, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dien_bench: %s\n", e.what());
    return 1;
  }
  if (!savePath.empty()) {  // the same weights for a peer (python/bench_torch_cuda.py)
    const std::vector<uint8_t> bytes = engine->save();
    FILE* f = std::fopen(savePath.c_str(), "wb");
    if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "dien_bench: cannot write %s\n", savePath.c_str());
      return 1;
    }
  }
  std::printf(
      "dien native benchmark: model dien (augru, mlp attention, dice), E=%d H=%d T=%d, backend %s, threads=%d\n",
      c.embedWidth(), c.hidden, c.maxLen, engine->backend().c_str(), engine->threads());
  std::printf("forward FLOPs per sample (docs/performance.md count): %.2f M at the mean length %.1f, %.2f M at T\n",
              flopsPerSample(c, static_cast<int>((c.maxLen + 1) / 2)) * 1e-6, (c.maxLen + 1) / 2.0,
              flopsPerSample(c, c.maxLen) * 1e-6);
  double peakGflops = 0;
  if (peak && engine->backend() == "cuda") {
    const CudaStatus s = probeCuda();
    peakGflops = s.fp32PeakGflops;
    std::printf("fp32 peak of %s: %.0f GFLOP/s (%d multiprocessors x 128 lanes x 2 x %.2f GHz)\n", s.name.c_str(),
                peakGflops, s.multiprocessors, s.clockGhz);
  } else if (peak) {
    peakGflops = measureFmaPeak(engine->threads());
    std::printf("measured fp32 FMA peak: %.1f GFLOP/s with %d threads\n", peakGflops, engine->threads());
  }
  std::printf("%8s %14s %14s %12s %10s%s\n", "batch", "samples/s", "latency ms", "GFLOP/s", "min-max ms",
              peak ? "  of peak" : "");
  for (int B : batches) {
    std::vector<OwnedBatch> inputs;
    for (int k = 0; k < 3; ++k) inputs.push_back(randomBatch(c, B, 1000 + B + k, 1));
    double flops = 0;
    for (const OwnedBatch& b : inputs)
      for (int L : b.histLen) flops += flopsPerSample(c, L) / inputs.size();
    std::vector<float> out(B);
    const int n = reps > 0 ? reps : std::max(5, std::min(200, (device == "cuda" ? 200000 : 20000) / B));
    for (int w = 0; w < 3; ++w) engine->predict(inputs[w % 3].view(), out.data(), false);
    std::vector<double> times;
    for (int r = 0; r < n; ++r) {
      const OwnedBatch& b = inputs[r % 3];
      const double t0 = nowMs();
      engine->predict(b.view(), out.data(), false);
      times.push_back(nowMs() - t0);
    }
    std::sort(times.begin(), times.end());
    const double med = times[times.size() / 2];
    std::printf("%8d %14.0f %14.4f %12.2f %5.3f-%.3f", B, B / med * 1e3, med, flops / med * 1e-6, times.front(),
                times.back());
    if (peak) std::printf("  %7.1f%%", 100.0 * flops / med * 1e-6 / peakGflops);
    std::printf("\n");
    // One machine-readable line per row for scripts (device-check.sh).
    std::fprintf(stderr, "ROW device=%s H=%d T=%d B=%d samples_per_s=%.0f latency_ms=%.4f gflops=%.1f\n",
                 engine->backend().c_str(), c.hidden, c.maxLen, B, B / med * 1e3, med, flops / med * 1e-6);
  }
  return 0;
}
