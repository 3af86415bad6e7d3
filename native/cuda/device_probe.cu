#include <cuda_runtime.h>

#include <atomic>

#include "check.h"
#include "device_probe.h"

namespace dien {

namespace {
std::atomic<int64_t> faultCountdown{0};  // calls until the armed fault; 0: none armed
}  // namespace

bool cudaFaultDue() {
  int64_t left = faultCountdown.load(std::memory_order_relaxed);
  while (left > 0)
    if (faultCountdown.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) return left == 1;
  return false;
}

int64_t armCudaFault(int64_t n) { return faultCountdown.exchange(n > 0 ? n : 0, std::memory_order_relaxed); }

CudaStatus probeCuda() {
  CudaStatus s;
  s.built = true;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return s;
  }
  s.devices = count;
  if (count == 0) {
    s.reason = "no CUDA device found";
    return s;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
    s.name = prop.name;
    s.multiprocessors = prop.multiProcessorCount;
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, 0) == cudaSuccess) s.clockGhz = khz * 1e-6;
    // FP32 lanes per multiprocessor: 128 on sm_80 consumer parts and sm_86+, 64 on sm_80 (A100), 128 on sm_90.
    const int lanes = (prop.major == 8 && prop.minor == 0) ? 64 : 128;
    s.fp32PeakGflops = s.multiprocessors * lanes * 2.0 * s.clockGhz;
  }
  void* p = nullptr;
  err = cudaMalloc(&p, 1 << 20);
  if (err != cudaSuccess) {
    s.reason = std::string("test allocation on device 0 failed: ") + cudaGetErrorString(err);
    cudaGetLastError();
    return s;
  }
  cudaFree(p);
  s.usable = true;
  s.reason = "CUDA device 0 (" + s.name + ") passed a test allocation";
  return s;
}

}  // namespace dien
