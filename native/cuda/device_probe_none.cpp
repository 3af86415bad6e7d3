// Built when CMake found no CUDA compiler, or DIEN_CUDA=OFF, or by node-gyp.
#include "device_probe.h"

namespace dien {

CudaStatus probeCuda() {
  CudaStatus s;
  s.reason = "this build has no CUDA support (no CUDA compiler was found, or DIEN_CUDA=OFF)";
  return s;
}

}  // namespace dien
