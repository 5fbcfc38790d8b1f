// Committing files into a bundle directory, shared by publish and remote fetch: temp
// files that remove themselves unless renamed into place, renames, directory creation,
// and the cleanup of data files no sidecar names any more.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "bundle/file_io.h"

namespace ruvector::bundle {

inline constexpr char kVectorsBase[] = "vectors";
inline constexpr char kDataPrefix[] = "vectors-";
inline constexpr char kDataSuffix[] = ".rvb";

// "<base>.tmp.<pid>.<n>": unique within the process (n) and across processes (pid).
std::string temp_name(const char* base);

// Removes its file on scope exit unless disarmed (after the rename that publishes it), so
// an exception leaves no temp file behind. A crash does; the next publish removes it.
class TempFile {
 public:
  explicit TempFile(int dir_fd) : dir_fd_(dir_fd) {}
  ~TempFile() {
    if (armed_) ::unlinkat(dir_fd_, name_.c_str(), 0);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Creates "<base>.tmp.<pid>.<n>" with O_EXCL. A crashed process with the same pid (pids
  // are reused) may have left that name behind, so on EEXIST the next n is tried.
  UniqueFd create(const char* base, const std::string& dir) {
    for (int tries = 1;; tries++) {
      std::string name = temp_name(base);
      int fd =
          ::openat(dir_fd_, name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0) {
        name_ = std::move(name);
        armed_ = true;
        return UniqueFd(fd);
      }
      if (errno != EINTR && (errno != EEXIST || tries == 100))
        throw_io("create", dir + "/" + name, errno);
    }
  }
  const std::string& name() const { return name_; }
  void disarm() { armed_ = false; }

 private:
  int dir_fd_;
  std::string name_;
  bool armed_ = false;
};

void rename_in(int dir_fd, const std::string& from, const std::string& to, const std::string& dir);

// Creates the bundle directory when missing and makes its entry durable in the parent.
void ensure_directory(std::string dir);

bool is_data_file_name(const std::string& name);

// After a commit: removes data files other than `keep` and temp files of interrupted
// publishes. Failures go to *warning, not thrown: the bundle is already live.
void clean_up(int dir_fd, const std::string& keep, std::vector<std::string>* removed,
              std::string* warning);

}  // namespace ruvector::bundle
