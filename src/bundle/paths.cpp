// See paths.h. Walks the path one component at a time with lstat, so a dangling symlink is
// caught too (realpath alone would fail on it and leave it looking like a new name).
#include "bundle/paths.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bundle/errors.h"

namespace ruvector::bundle {
namespace {

std::vector<std::string> split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

std::string real_path(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) == nullptr) return {};
  return buffer;
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

bool inside(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
                          path[root.size()] == '/');
}

}  // namespace

std::string confine(const std::string& root, const std::string& user_path) {
  if (root.empty())
    throw PathError("server-side bundle files are disabled: rulake.bundle_root is not set");
  if (root[0] != '/')
    throw PathError("rulake.bundle_root \"" + root + "\" is not an absolute path");
  const std::string real_root = real_path(root);
  struct stat st;
  if (real_root.empty() || ::stat(real_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw PathError("rulake.bundle_root \"" + root + "\" is not an existing directory");
  if (user_path.empty()) throw PathError("bundle path is empty");
  if (user_path.find('\0') != std::string::npos) throw PathError("bundle path contains a NUL byte");
  const std::vector<std::string> parts = split(user_path);
  for (const std::string& part : parts) {
    if (part == "..")
      throw PathError("bundle path \"" + user_path + "\" contains \"..\", which is not allowed");
  }

  std::string current = user_path[0] == '/' ? "/" : real_root;
  std::size_t i = 0;
  for (; i < parts.size(); i++) {
    std::string next = join(current, parts[i]);
    if (::lstat(next.c_str(), &st) != 0) {
      if (errno == ENOENT) break;  // the rest does not exist yet: nothing to resolve
      throw PathError("bundle path \"" + user_path + "\": cannot inspect \"" + next +
                      "\": " + std::strerror(errno));
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target = real_path(next);
      if (target.empty())
        throw PathError("bundle path \"" + user_path + "\": \"" + next +
                        "\" is a symbolic link that does not resolve");
      next = target;
    }
    current = next;
  }
  for (; i < parts.size(); i++) current = join(current, parts[i]);

  if (!inside(current, real_root))
    throw PathError("bundle path \"" + user_path + "\" is outside rulake.bundle_root",
                    "resolves to \"" + current + "\", root is \"" + real_root + "\"");
  return current;
}

}  // namespace ruvector::bundle
