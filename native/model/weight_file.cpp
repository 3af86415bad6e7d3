#include "weight_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/errors.h"

namespace dien {

namespace {

const char* errnoName(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR";
    case EMFILE: return "EMFILE";
    case EIO: return "EIO";
    case ELOOP: return "ELOOP";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: return "error";
  }
}

[[noreturn]] void ioError(const std::string& path, const char* what, int e) {
  throw CodedError(ErrorCode::Io,
                   cat(path, ": cannot ", what, " the weight file (", errnoName(e), ": ", strerror(e), ")"));
}

// An open regular file and its size; anything else is refused (a FIFO would block a pool
// thread until some writer came; a folder cannot be read).
struct OpenFile {
  int fd;
  size_t size;
};

OpenFile openRegular(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) ioError(path, "open", errno);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    ioError(path, "inspect", e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    ioError(path, "read", S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // a regular file: plain reads
  return OpenFile{fd, static_cast<size_t>(st.st_size)};
}

}  // namespace

std::vector<uint8_t> readFile(const std::string& path) {
  const OpenFile f = openRegular(path);
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(f.size);
  } catch (...) {
    close(f.fd);
    throw;
  }
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(f.fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n == 0 ? EIO : errno;  // n == 0: the file shrank while it was read
      close(f.fd);
      ioError(path, "read", e);
    }
    got += static_cast<size_t>(n);
  }
  close(f.fd);
  return bytes;
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  const OpenFile f = openRegular(path);
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = f.size;
  if (m->size_ > 0) {
    // Writable but private (pages a training step changes are copied, the file never
    // is), without reserving swap for every page: a file larger than memory maps. Where
    // the system refuses that (strict overcommit), read-only; training then copies.
    void* addr = mmap(nullptr, m->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, f.fd, 0);
    if (addr == MAP_FAILED && errno == ENOMEM) {
      addr = mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, f.fd, 0);
      m->writable_ = false;
    }
    if (addr == MAP_FAILED) {
      const int e = errno;
      close(f.fd);
      ioError(path, "map", e);
    }
    m->addr_ = addr;
  }
  close(f.fd);  // the mapping keeps the file's pages
  return m;
}

MappedFile::~MappedFile() {
  if (addr_) munmap(addr_, size_);
}

}  // namespace dien
