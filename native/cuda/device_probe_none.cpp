// Built when CMake found no CUDA compiler, or DIEN_CUDA=OFF, or by node-gyp.
#include "../common/errors.h"
#include "cuda_backend.h"
#include "device_probe.h"

namespace dien {

std::unique_ptr<Backend> makeCudaBackend(const Config&, const Weights&) {
  throw ConfigError("this build has no CUDA support (no CUDA compiler was found, or DIEN_CUDA=OFF)");
}

CudaStatus probeCuda() {
  CudaStatus s;
  s.reason = "this build has no CUDA support (no CUDA compiler was found, or DIEN_CUDA=OFF)";
  return s;
}

int64_t armCudaFault(int64_t) { return -1; }

}  // namespace dien
