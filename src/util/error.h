// Typed errors of the core library. The core never includes Postgres headers; it throws
// ruvector::Error and the extension's error boundary maps ErrorKind to a SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>

namespace ruvector {

enum class ErrorKind {
  kInvalidText,        // malformed text representation (22P02)
  kInvalidParameter,   // a parameter or option out of its domain (22023)
  kDataException,      // bad data: NaN, dimension mismatch, wrong binary size (22000)
  kOutOfRange,         // numeric overflow or value out of range (22003)
  kProgramLimit,       // a hard limit of the implementation (54000)
  kResourceLimit,      // memory or other resource exhausted (53000)
  kIo,                 // file or network I/O failed (58030)
  kIntegrity,          // stored data fails verification (XX001)
  kInternal,           // a bug: an invariant did not hold (XX000)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message, std::string detail = {})
      : std::runtime_error(message), kind_(kind), detail_(std::move(detail)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorKind kind_;
  std::string detail_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message,
                              std::string detail = {}) {
  throw Error(kind, message, std::move(detail));
}

}  // namespace ruvector
