// The CUDA backend against the CPU backend (and the float64 reference) on fresh random
// inputs: every variant, B in {1, 7, 1024}, T in {1, 50, 100}, H in {32, 36, 108},
// outputs poisoned before each run. Skipped where no CUDA device is usable.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "cuda/device_probe.h"
#include "reference.h"
#include "test_harness.h"
#include "test_util.h"
#include "variants.h"

using namespace dien;
using namespace dien::test;

namespace {

void requireDevice() {
  const CudaStatus s = probeCuda();
  if (!s.usable) SKIP(cat("no usable CUDA device: ", s.reason));
}

// One CUDA-vs-CPU comparison; returns the relative error.
double compare(const Config& c, int B, uint64_t seed, bool logits, bool againstReference) {
  Weights w(c);
  randomizeWeights(w, seed);
  const std::vector<uint8_t> bytes = writeSafetensors(c, w);
  EngineOptions cpu, gpu;
  cpu.device = "cpu";
  gpu.device = "cuda";
  auto a = Engine::fromSafetensors(bytes.data(), bytes.size(), cpu);
  auto g = Engine::fromSafetensors(bytes.data(), bytes.size(), gpu);
  CHECK(g->backend() == "cuda");
  const OwnedBatch b = randomBatch(c, B, seed * 31 + B);
  std::vector<float> x(B, std::numeric_limits<float>::quiet_NaN()), y(B, std::numeric_limits<float>::quiet_NaN());
  a->predict(b.view(), x.data(), logits);
  g->predict(b.view(), y.data(), logits);
  for (int i = 0; i < B; ++i) CHECK_MSG(std::isfinite(y[i]), cat("CUDA output ", i, " not written or not finite"));
  double err = relativeError(y, x);
  if (againstReference) err = std::max(err, relativeError(y, referenceForward(c, w, b.view(), logits)));
  return err;
}

}  // namespace

// Small enough to run under compute-sanitizer (memcheck, racecheck) in device-check.sh.
TEST(cuda_smoke) {
  requireDevice();
  for (const char* name : {"dien/augru/reset-before/mlp", "din", "dien/gru-att/reset-after/bilinear", "wide-deep"})
    for (const auto& [n, c] : variants())
      if (n == name) {
        const double err = compare(c, 7, 3, true, true);
        CHECK_MSG(err <= 1e-5, cat(n, ": relative error ", err));
      }
}

TEST(cuda_every_variant_matches_cpu) {
  requireDevice();
  for (const auto& [name, c] : variants())
    for (int B : {1, 7, 1024})
      for (bool logits : {false, true}) {
        const double err = compare(c, B, 7, logits, B <= 7);
        if (std::getenv("DIEN_TEST_VERBOSE"))
          std::printf("  cuda %-40s B=%-5d %s %.3g\n", name.c_str(), B, logits ? "logits" : "probs ", err);
        CHECK_MSG(err <= 1e-5, cat(name, " B=", B, logits ? " logits" : " probabilities", ": relative error ", err));
      }
}

TEST(cuda_shapes_match_cpu) {
  requireDevice();
  for (int T : {1, 50, 100})
    for (int H : {32, 36, 108})
      for (int B : {1, 7, 1024}) {
        Config c = smallConfig(ModelKind::Dien, H);
        c.maxLen = T;
        c.itemVocab = 5000;
        c.catVocab = 300;
        const double err = compare(c, B, 11 + T + H, true, false);
        CHECK_MSG(err <= 1e-5, cat("T=", T, " H=", H, " B=", B, ": relative error ", err));
      }
}

TEST(cuda_score_requests_equals_cpu) {
  requireDevice();
  for (const auto& [name, c] : variants()) {
    auto cpu = randomEngine(c, 5, 2, "cpu");
    auto gpu = randomEngine(c, 5, 2, "cuda");
    const OwnedBatch b = randomBatch(c, 300, 3);
    for (int L : {0, 1, c.maxLen}) {
      const OwnedRequests r = candidatesOf(b, L);
      std::vector<float> x(b.B), y(b.B, std::numeric_limits<float>::quiet_NaN());
      cpu->scoreRequests(r.data.view(), x.data(), true);
      gpu->scoreRequests(r.data.view(), y.data(), true);
      const double err = relativeError(y, x);
      CHECK_MSG(err <= 1e-5, cat(name, " L=", L, ": relative error ", err));
    }
    // Many requests, ragged K (0 among them), mixed lengths.
    const OwnedRequests r = requestsOf(b, {0, 1, 1, 40, 41, 140, 300});
    std::vector<float> x(r.expanded.B), y(r.expanded.B, std::numeric_limits<float>::quiet_NaN());
    cpu->scoreRequests(r.data.view(), x.data(), true);
    gpu->scoreRequests(r.data.view(), y.data(), true);
    const double err = relativeError(y, x);
    CHECK_MSG(err <= 1e-5, cat(name, " requests: relative error ", err));
  }
}

TEST(cuda_request_without_device_is_a_clear_error) {
  const CudaStatus s = probeCuda();
  if (s.usable) SKIP("a CUDA device is usable here");
  const Config c = smallConfig(ModelKind::Dien);
  expectThrow<ConfigError>([&] { randomEngine(c, 1, 1, "cuda"); }, "device \"cuda\" requested but unavailable");
  auto e = randomEngine(c, 1, 1, "auto");
  CHECK(e->backend() == "cpu");
  CHECK(e->backendReason().find("using the CPU") != std::string::npos);
}

// Every checked CUDA call of loading a model and scoring a batch (then of scoring requests)
// is made to fail in turn (armCudaFault): each failure is a CudaError naming the call, the
// CPU backend is unaffected, and a CUDA engine that was built still scores correctly once
// the fault has passed. docs/reliability.md, "CUDA faults".
TEST(cuda_injected_faults_are_errors_and_leave_everything_usable) {
  requireDevice();
  const Config c = smallConfig(ModelKind::Dien);
  Weights w(c);
  randomizeWeights(w, 5);
  const std::vector<uint8_t> bytes = writeSafetensors(c, w);
  EngineOptions cpu, gpu;
  cpu.device = "cpu";
  gpu.device = "cuda";
  auto ref = Engine::fromSafetensors(bytes.data(), bytes.size(), cpu);
  const int B = 9;
  const OwnedBatch b = randomBatch(c, B, 77);
  const OwnedRequests r = requestsOf(b, {0, 3, 3, 9});
  std::vector<float> want(B), wantReq(r.expanded.B);
  ref->predict(b.view(), want.data(), true);
  ref->scoreRequests(r.data.view(), wantReq.data(), true);
  auto scoresMatch = [&](Engine& e) {
    std::vector<float> got(B, std::numeric_limits<float>::quiet_NaN()), gotReq(r.expanded.B);
    e.predict(b.view(), got.data(), true);
    e.scoreRequests(r.data.view(), gotReq.data(), true);
    return relativeError(got, want) <= 1e-5 && relativeError(gotReq, wantReq) <= 1e-5;
  };
  int fired = 0;
  for (int64_t k = 1;; ++k) {
    CHECK_MSG(k <= 10000, "the fault sweep did not end: a call path keeps making checked calls");
    armCudaFault(k);
    std::shared_ptr<Engine> g;
    std::string failure;
    bool matched = false;
    try {
      g = Engine::fromSafetensors(bytes.data(), bytes.size(), gpu);
      matched = scoresMatch(*g);
    } catch (const CudaError& e) {
      failure = e.what();
    }
    if (armCudaFault(0) > 0) {  // the path made fewer than k checked calls: the sweep is over
      CHECK_MSG(failure.empty() && matched,
                cat("with no fault left to fire: ", failure.empty() ? "wrong scores" : failure));
      break;
    }
    ++fired;
    CHECK_MSG(failure.find("injected fault") != std::string::npos,
              cat("fault at checked call ", k, ": ", failure.empty() ? "did not surface as a CudaError" : failure));
    CHECK_MSG(scoresMatch(*ref), cat("the CPU engine after the fault at call ", k));
    if (g) CHECK_MSG(scoresMatch(*g), cat("the CUDA engine after the fault at call ", k));
  }
  CHECK_MSG(fired >= 10, cat("only ", fired, " checked CUDA calls on the load and scoring paths"));
  // auto falls back to the CPU when the backend cannot start.
  EngineOptions automatic;
  armCudaFault(1);
  auto a = Engine::fromSafetensors(bytes.data(), bytes.size(), automatic);
  armCudaFault(0);
  CHECK(a->backend() == "cpu");
  CHECK_MSG(a->backendReason().find("could not start") != std::string::npos, a->backendReason());
  CHECK(scoresMatch(*a));
}
