// See dir_commit.h.
#include "bundle/dir_commit.h"

#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <cstring>

#include "bundle/hex.h"
#include "bundle/publish.h"
#include "bundle/rust_bundle.h"

namespace ruvector::bundle {

namespace {
// Distinguishes temp files of several publishes in one process; the pid distinguishes
// processes. Together with O_EXCL no two writers ever share a temp file.
std::atomic<std::uint64_t> g_temp_counter{0};

}  // namespace

std::string temp_name(const char* base) {
  return std::string(base) + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(g_temp_counter.fetch_add(1));
}

void rename_in(int dir_fd, const std::string& from, const std::string& to, const std::string& dir) {
  if (::renameat(dir_fd, from.c_str(), dir_fd, to.c_str()) != 0)
    throw_io("rename \"" + from + "\" to", dir + "/" + to, errno);
}

void ensure_directory(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (::mkdir(dir.c_str(), 0755) == 0) {
    std::size_t slash = dir.find_last_of('/');
    std::string parent = slash == std::string::npos ? "." : dir.substr(0, slash);
    if (parent.empty()) parent = "/";
    UniqueFd parent_fd = open_directory(parent);
    fsync_or_throw(parent_fd.get(), parent);
  } else if (errno != EEXIST) {
    throw_io("create bundle directory", dir, errno);
  }
}

// Either format's data file, so that a directory switching formats is cleaned up too.
bool is_data_file_name(const std::string& name) {
  const std::size_t prefix = sizeof(kDataPrefix) - 1;
  for (const char* suffix_text : {kDataSuffix, kRustDataSuffix}) {
    const std::size_t suffix = std::strlen(suffix_text);
    if (name.size() == prefix + 2 * kDigestSize + suffix &&
        name.compare(0, prefix, kDataPrefix) == 0 &&
        name.compare(name.size() - suffix, suffix, suffix_text) == 0 &&
        digest_from_hex(name.substr(prefix, 2 * kDigestSize)).has_value())
      return true;
  }
  return false;
}

void clean_up(int dir_fd, const std::string& keep, std::vector<std::string>* removed,
              std::string* warning) {
  int fd = ::dup(dir_fd);
  DIR* listing = fd < 0 ? nullptr : ::fdopendir(fd);
  if (listing == nullptr) {
    int saved = errno;
    if (fd >= 0) ::close(fd);
    *warning = std::string("could not list the bundle directory: ") + std::strerror(saved);
    return;
  }
  ::rewinddir(listing);  // the dup shares the offset of dir_fd
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(listing)) {
    std::string name = entry->d_name;
    if (name != keep && (is_data_file_name(name) || is_publish_temp_name(name)))
      stale.push_back(std::move(name));
  }
  ::closedir(listing);
  for (const std::string& name : stale) {
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) {
      removed->push_back(name);
    } else if (warning->empty()) {
      *warning = "could not remove stale \"" + name + "\": " + std::strerror(errno);
    }
  }
}

}  // namespace ruvector::bundle
