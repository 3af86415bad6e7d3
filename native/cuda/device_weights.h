// The model's tensors on the device, in the layouts the kernels read: uploaded once, in
// one allocation, when a CUDA model is built. Each part (embeddings, the two GRUs, the
// attention scorer, the output MLP) is laid out by its own function in
// device_weights.cu; the CPU's counterpart is native/cpu/packed_weights.cpp.
#pragma once

#include <cstddef>

#include "../model/config.h"
#include "../model/weights.h"
#include "kernels.cuh"

namespace dien {
namespace cuda {

class DeviceWeights {
 public:
  // Throws CudaError on a CUDA failure and ConfigError when a kernel's shared memory for
  // this config exceeds smemLimit.
  DeviceWeights(const Config& c, const Weights& w, size_t smemLimit);
  ~DeviceWeights();
  DeviceWeights(const DeviceWeights&) = delete;
  DeviceWeights& operator=(const DeviceWeights&) = delete;

  EmbedTables emb;
  const float* extractorWih = nullptr;  // [3H, E], for gemmAWt
  const float* evolutionWih = nullptr;  // [3H, H]
  GruDev extractor, evolution;
  ScorerDev scorer;
  MlpDev mlp;
  size_t attentionSmem = 0, outputSmem = 0;

 private:
  void release();
  float* data_ = nullptr;
  LayerDev* layers_ = nullptr;
};

}  // namespace cuda
}  // namespace dien
