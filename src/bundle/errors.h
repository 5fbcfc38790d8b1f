// Typed errors of the bundle core. Each derives from ruvector::Error so the extension's
// error boundary maps it to a SQLSTATE by kind; the subclasses let callers (verify_bundle,
// the cache's refresh) tell a malformed bundle from a tampered one, a downgrade, or I/O.
#pragma once

#include <string>

#include "util/error.h"

namespace ruvector::bundle {

class BundleError : public Error {
 public:
  BundleError(ErrorKind kind, const std::string& message, std::string field = {},
              std::string detail = {})
      : Error(kind, message, std::move(detail)), field_(std::move(field)) {}

  // The sidecar field or file region the error is about ("dim", "data_digest",
  // "vectors file"), or empty.
  const std::string& field() const noexcept { return field_; }

 private:
  std::string field_;
};

// The bundle is not well formed: malformed JSON, a missing, unknown or mistyped field, a
// value out of its domain, a truncated vectors file (22000).
class FormatError : public BundleError {
 public:
  explicit FormatError(const std::string& message, std::string field = {}, std::string detail = {})
      : BundleError(ErrorKind::kDataException, message, std::move(field), std::move(detail)) {}
};

// A format version newer than this reader knows: refuse rather than guess (22000).
class UnsupportedVersionError : public FormatError {
 public:
  using FormatError::FormatError;
};

// The bundle is well formed but does not authenticate: a field, the witness or the data was
// changed after publishing (XX001).
class IntegrityError : public BundleError {
 public:
  explicit IntegrityError(const std::string& message, std::string field = {},
                          std::string detail = {})
      : BundleError(ErrorKind::kIntegrity, message, std::move(field), std::move(detail)) {}
};

// A format version older than the reader's minimum. Refused like tampering, because an
// attacker who can substitute an older format can pick its weaker guarantees (XX001).
class DowngradeError : public BundleError {
 public:
  explicit DowngradeError(const std::string& message, std::string detail = {})
      : BundleError(ErrorKind::kIntegrity, message, "format_version", std::move(detail)) {}
};

// A system call on a bundle file or directory failed (58030). sys_errno() keeps errno so
// callers can tell "no bundle here" (ENOENT) from a failing disk.
class IoError : public BundleError {
 public:
  IoError(const std::string& message, int sys_errno, std::string detail = {})
      : BundleError(ErrorKind::kIo, message, {}, std::move(detail)), sys_errno_(sys_errno) {}

  int sys_errno() const noexcept { return sys_errno_; }

 private:
  int sys_errno_;
};

// A server-side path outside rulake.bundle_root, or the feature is disabled (22023).
class PathError : public BundleError {
 public:
  explicit PathError(const std::string& message, std::string detail = {})
      : BundleError(ErrorKind::kInvalidParameter, message, "path", std::move(detail)) {}
};

}  // namespace ruvector::bundle
