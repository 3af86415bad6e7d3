// Memory that grows on demand and frees itself: device buffers for the workspace and
// pinned host buffers for staging. After warm-up no call allocates.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>

#include "check.h"

namespace dien {
namespace cuda {

inline cudaError_t deviceAlloc(void** p, size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t pinnedAlloc(void** p, size_t bytes) { return cudaMallocHost(p, bytes); }

template <cudaError_t (*Alloc)(void**, size_t), cudaError_t (*Free)(void*)>
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  ~GrowingBuffer() { release(); }

  // At least `count` elements of T; grows by a quarter more to avoid reallocating on every larger call.
  template <typename T>
  T* ensure(size_t count) {
    const size_t bytes = count * sizeof(T);
    if (bytes > capacity_) {
      release();
      const size_t want = bytes + bytes / 4;
      DIEN_CUDA_CHECK(Alloc(&ptr_, want));
      capacity_ = want;
    }
    return static_cast<T*>(ptr_);
  }
  template <typename T>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  void release() {
    if (ptr_) Free(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
  }

 private:
  void* ptr_ = nullptr;
  size_t capacity_ = 0;
};

using DeviceBuffer = GrowingBuffer<deviceAlloc, cudaFree>;
using PinnedBuffer = GrowingBuffer<pinnedAlloc, cudaFreeHost>;

}  // namespace cuda
}  // namespace dien
