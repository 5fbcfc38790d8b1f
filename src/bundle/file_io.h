// POSIX file helpers for bundles: an owning descriptor, full reads and writes that retry
// on EINTR and short transfers, fsync, and opening a bundle file relative to its directory
// without following symlinks. Every failure is an IoError naming the file and errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ruvector::bundle {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int sys_errno);

// Opens a directory (following symlinks: the path was confined before; see paths.h).
UniqueFd open_directory(const std::string& path);

// Opens `name` in `dir_fd` read-only, refusing symlinks (O_NOFOLLOW) and anything but a
// regular file, so a link planted inside a bundle directory cannot point outside the root.
UniqueFd open_file_in(int dir_fd, const std::string& name, const std::string& label);

// Reads a whole file of at most `limit` bytes from offset 0 (larger: FormatError).
std::string read_whole_file(int fd, std::size_t limit, const std::string& label);

std::uint64_t file_size(int fd, const std::string& label);

// Reads exactly `size` bytes at `offset`; IoError when the file ends first.
void pread_exact(int fd, void* buffer, std::size_t size, std::uint64_t offset,
                 const std::string& label);
void pwrite_all(int fd, const void* data, std::size_t size, std::uint64_t offset,
                const std::string& label);
void fsync_or_throw(int fd, const std::string& label);

}  // namespace ruvector::bundle
