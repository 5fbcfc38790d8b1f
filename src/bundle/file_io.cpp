// See file_io.h.
#include "bundle/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bundle/errors.h"

namespace ruvector::bundle {

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void throw_io(const std::string& what, const std::string& path, int sys_errno) {
  throw IoError("could not " + what + " \"" + path + "\": " + std::strerror(sys_errno), sys_errno);
}

UniqueFd open_directory(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_io("open bundle directory", path, errno);
  return UniqueFd(fd);
}

UniqueFd open_file_in(int dir_fd, const std::string& name, const std::string& label) {
  int fd;
  do {
    fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (errno == ELOOP)
      throw IoError("bundle file \"" + label + "\" is a symbolic link, which is not allowed",
                    ELOOP);
    throw_io("open bundle file", label, errno);
  }
  UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io("stat bundle file", label, errno);
  if (!S_ISREG(st.st_mode))
    throw IoError("bundle file \"" + label + "\" is not a regular file", EINVAL);
  // O_NONBLOCK only kept open() from hanging on a FIFO; reads of a regular file ignore it.
  return owned;
}

std::uint64_t file_size(int fd, const std::string& label) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io("stat", label, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

std::string read_whole_file(int fd, std::size_t limit, const std::string& label) {
  std::uint64_t size = file_size(fd, label);
  if (size > limit)
    throw FormatError("bundle file \"" + label + "\" is larger than " + std::to_string(limit) +
                      " bytes");
  std::string out(static_cast<std::size_t>(size), '\0');
  pread_exact(fd, out.data(), out.size(), 0, label);
  return out;
}

void pread_exact(int fd, void* buffer, std::size_t size, std::uint64_t offset,
                 const std::string& label) {
  auto* p = static_cast<char*>(buffer);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("read", label, errno);
    }
    if (n == 0)
      throw IoError("bundle file \"" + label + "\" ended early: it changed while being read", EIO);
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                const std::string& label) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_io("write", label, errno);
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
}

void fsync_or_throw(int fd, const std::string& label) {
  // No retry on EINTR/EIO: after a failed fsync the kernel may have dropped the dirty pages,
  // so a second fsync can succeed without the data being on disk (Postgres's rule).
  if (::fsync(fd) != 0) throw_io("fsync", label, errno);
}

}  // namespace ruvector::bundle
