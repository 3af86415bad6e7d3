// Every CUDA call goes through DIEN_CUDA_CHECK: a failure throws CudaError naming the
// call and CUDA's message. Nothing here exits or aborts.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "../common/errors.h"

namespace dien {

inline void cudaCheck(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return;
  const bool oom = err == cudaErrorMemoryAllocation;
  cudaGetLastError();  // clear a non-sticky error so the model stays usable
  throw CudaError(std::string(call) + " failed: " + cudaGetErrorString(err), oom);
}

}  // namespace dien

#define DIEN_CUDA_CHECK(call) ::dien::cudaCheck((call), #call)
// After a kernel launch: launch-configuration errors surface here.
#define DIEN_CUDA_LAUNCHED(name) ::dien::cudaCheck(cudaGetLastError(), "launch of " name)
