// safetensors read and write (docs/model.md §12). Reading validates everything before a
// model exists: a file is either loaded whole or rejected with a FormatError (or
// ConfigError for the embedded config) that names the tensor or key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.h"
#include "quantize.h"
#include "tensors.h"
#include "weight_file.h"
#include "weights.h"

namespace dien {

struct LoadedWeights {
  Config config;
  std::unique_ptr<Weights> weights;
  // __metadata__.vocab: the string-id vocabularies (JSON text, read by lib/data/vocab.ts);
  // empty when the file has none. Opaque here: carried from load to save unchanged.
  std::string vocab;
};

// A training checkpoint is a weight file plus optimiser state: __metadata__.trainer (JSON
// text) and, for every trainable tensor NAME, "optimizer.m.NAME" and "optimizer.v.NAME"
// of its shape. Without __metadata__.trainer such tensors are unexpected (rejected); with
// it, a plain load validates them like any tensor and ignores their values.
struct CheckpointState {
  std::string trainer;            // JSON text; empty: not a checkpoint
  std::unique_ptr<Weights> m, v;  // Weights' layout; running statistics' slots unused (0)
};

// What a checkpoint writer adds to the weights.
struct CheckpointView {
  std::string trainer;
  const Weights* m = nullptr;
  const Weights* v = nullptr;
};

// The largest header a reader accepts (and a writer writes): 100 MiB, as other
// safetensors readers; model tensors take a few KB of it, so only vocabularies carried
// inline come near it (lib/vocab-file.ts moves large ones to a file of their own).
constexpr uint64_t kMaxHeader = 100u << 20;

// extras: where a checkpoint's optimiser state goes (null: ignore it).
LoadedWeights readSafetensors(const uint8_t* bytes, size_t size, CheckpointState* extras = nullptr);
// The same checks on a mapped file; the weights then live in the mapping (docs/model.md
// §12) when the file is laid out as this engine writes it, else they are copied.
LoadedWeights mapSafetensors(std::shared_ptr<MappedFile> file);
// dtype F16 / I8 writes a quantised file (quantize.h); a checkpoint is always F32.
std::vector<uint8_t> writeSafetensors(const Config& c, const Weights& w, const CheckpointView* extras = nullptr,
                                      const std::string& vocab = "", StorageType dtype = StorageType::F32);

}  // namespace dien
