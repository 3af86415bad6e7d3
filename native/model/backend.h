// What the engine asks of a backend. The CPU backend is the reference; the CUDA
// backend must match it within docs/model.md §14.
#pragma once

#include <string>

#include "batch.h"

namespace dien {

class Backend {
 public:
  virtual ~Backend() = default;
  // Inputs are validated by the engine before these are called. Backends write logits;
  // the engine checks them and turns them into probabilities.
  virtual void predict(const BatchView& b, float* logits) = 0;
  // Each request's history is processed once for all of its candidates (docs/model.md §15).
  virtual void scoreRequests(const RequestsView& r, float* logits) = 0;
  // The weights were changed in place (a training step): refresh any derived copy.
  virtual void weightsChanged() = 0;
  virtual const char* name() const = 0;
  virtual int threads() const = 0;
};

}  // namespace dien
