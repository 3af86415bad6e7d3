// Every CUDA call goes through DIEN_CUDA_CHECK: a failure throws CudaError naming the
// call and CUDA's message. Nothing here exits or aborts.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "../common/errors.h"

namespace dien {

// True when the fault armed by armCudaFault (device_probe.h) falls on this call.
bool cudaFaultDue();

inline void cudaCheck(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return;
  const bool oom = err == cudaErrorMemoryAllocation;
  cudaGetLastError();  // clear a non-sticky error so the model stays usable
  throw CudaError(std::string(call) + " failed: " + cudaGetErrorString(err), oom);
}

// An injected fault replaces the call (it never runs), so that what the caller holds is
// exactly what a real failure of that call would leave it.
template <typename Call>
inline void cudaCheckCall(Call&& call, const char* text) {
  if (cudaFaultDue()) throw CudaError(std::string(text) + " failed: injected fault (armCudaFault)", false);
  cudaCheck(call(), text);
}

}  // namespace dien

#define DIEN_CUDA_CHECK(call) ::dien::cudaCheckCall([&] { return (call); }, #call)
// After a kernel launch: launch-configuration errors surface here.
#define DIEN_CUDA_LAUNCHED(name) ::dien::cudaCheckCall([] { return cudaGetLastError(); }, "launch of " name)
