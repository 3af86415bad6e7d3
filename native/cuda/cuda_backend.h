// Factory for the CUDA backend. In builds without CUDA it throws ConfigError saying so.
#pragma once

#include <memory>

#include "../model/backend.h"
#include "../model/config.h"
#include "../model/weights.h"

namespace dien {

// Uploads the weights once; w may be released afterwards. Throws CudaError on a CUDA
// failure and ConfigError for a config the kernels do not support.
std::unique_ptr<Backend> makeCudaBackend(const Config& c, const Weights& w);

}  // namespace dien
