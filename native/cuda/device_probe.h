// Whether a CUDA device is really usable here: built with CUDA, a driver present,
// a device present and a test allocation succeeding. reason says why not.
#pragma once

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

}  // namespace dien
