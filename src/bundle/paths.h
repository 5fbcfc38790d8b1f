// Confinement of server-side bundle paths to rulake.bundle_root: SQL callers name a
// directory, and this decides whether the server may touch it. Relative paths are taken
// from the root; absolute ones must lie inside it; ".." is refused outright; symlinks in the
// existing part of the path are resolved and must land inside the root.
#pragma once

#include <string>

namespace ruvector::bundle {

// Returns the absolute path `user_path` denotes, with every symlink in its existing prefix
// resolved (the not-yet-existing rest is appended as given, minus "." and empty parts).
// Throws PathError when `root` is empty (the feature is disabled), not absolute or not an
// existing directory; when `user_path` is empty, contains a NUL or a ".." component; when
// the result lies outside the root (directly, or through a symlink); or when a component
// is a symlink that does not resolve.
// The check holds at the time of the call: the root must be writable only by the server's
// user, or a component could be swapped for a symlink afterwards.
std::string confine(const std::string& root, const std::string& user_path);

}  // namespace ruvector::bundle
