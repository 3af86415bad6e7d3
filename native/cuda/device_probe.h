// Whether a CUDA device is really usable here: built with CUDA, a driver present,
// a device present and a test allocation succeeding. reason says why not.
#pragma once

#include <cstdint>
#include <string>

namespace dien {

struct CudaStatus {
  bool built = false;
  bool usable = false;
  int devices = 0;
  std::string name;  // device 0
  int multiprocessors = 0;
  double clockGhz = 0;        // boost clock of device 0
  double fp32PeakGflops = 0;  // multiprocessors x FP32 lanes per SM x 2 x clock
  std::string reason;         // why not usable, or what was found
};

CudaStatus probeCuda();

// Fault injection, for tests (docs/reliability.md): the n-th CUDA call made through
// DIEN_CUDA_CHECK from now on (n >= 1, counted across threads) does not run and fails
// with CudaError; n = 0 disarms. Returns how many calls the previous arming still had to
// go (0 once it fired or when none was armed), or -1 when the build has no CUDA.
int64_t armCudaFault(int64_t n);

}  // namespace dien
