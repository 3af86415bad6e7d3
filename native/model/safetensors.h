// safetensors read and write (docs/model.md §12). Reading validates everything before a
// model exists: a file is either loaded whole or rejected with a FormatError (or
// ConfigError for the embedded config) that names the tensor or key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "config.h"
#include "tensors.h"
#include "weights.h"

namespace dien {

struct LoadedWeights {
  Config config;
  std::unique_ptr<Weights> weights;
};

LoadedWeights readSafetensors(const uint8_t* bytes, size_t size);
std::vector<uint8_t> writeSafetensors(const Config& c, const Weights& w);

}  // namespace dien
