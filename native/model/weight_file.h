// Weight files on disk: read whole into memory, or mapped (docs/model.md §12, "Mapped
// files"). Failures are DIEN_IO errors naming the path and the errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dien {

// The whole file, read (on a pool thread).
std::vector<uint8_t> readFile(const std::string& path);

// A private, copy-on-write mapping of a whole file: pages are read when first touched
// and shared with every process that maps the same file; a write (a training step)
// copies the page it touches and never reaches the file. Unmapped when the last owner
// lets go.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // False when the system would only map it read-only (strict overcommit accounting).
  bool writable() const { return writable_; }

 private:
  MappedFile() = default;
  void* addr_ = nullptr;
  size_t size_ = 0;
  bool writable_ = true;
  std::string path_;
};

}  // namespace dien
