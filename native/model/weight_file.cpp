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

// Opens path for reading, refusing anything but a regular file (a FIFO would block a
// pool thread until some writer came; a folder cannot be read). fail(what) throws.
template <typename Fail>
int openRegular(const std::string& path, Fail fail) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    errno = e;
    fail("inspect");
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    fail("read");
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // a regular file: plain reads
  return fd;
}

}  // namespace

std::vector<uint8_t> readFile(const std::string& path) {
  auto fail = [&](const char* what) {
    const int e = errno;
    throw CodedError(ErrorCode::Io,
                     cat(path, ": cannot ", what, " the weight file (", errnoName(e), ": ", strerror(e), ")"));
  };
  const int fd = openRegular(path, fail);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    fail("inspect");
  }
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(static_cast<size_t>(st.st_size));
  } catch (...) {
    close(fd);
    throw;
  }
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;  // the file shrank while it was read
      close(fd);
      fail("read");
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  return bytes;
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  auto fail = [&](const char* what, int fd) {
    const int e = errno;
    if (fd >= 0) close(fd);
    throw CodedError(ErrorCode::Io,
                     cat(path, ": cannot ", what, " the weight file (", errnoName(e), ": ", strerror(e), ")"));
  };
  const int fd = openRegular(path, [&](const char* what) { fail(what, -1); });
  struct stat st {};
  if (fstat(fd, &st) != 0) fail("inspect", fd);
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = static_cast<size_t>(st.st_size);
  if (m->size_ > 0) {
    // Writable but private (pages a training step changes are copied, the file never
    // is), without reserving swap for every page: a file larger than memory maps. Where
    // the system refuses that (strict overcommit), read-only; training then copies.
    void* addr = mmap(nullptr, m->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
    if (addr == MAP_FAILED && errno == ENOMEM) {
      addr = mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      m->writable_ = false;
    }
    if (addr == MAP_FAILED) fail("map", fd);
    m->addr_ = addr;
  }
  close(fd);  // the mapping keeps the file's pages
  return m;
}

MappedFile::~MappedFile() {
  if (addr_) munmap(addr_, size_);
}

}  // namespace dien
