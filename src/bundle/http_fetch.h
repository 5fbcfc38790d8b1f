// Remote bundles: fetch URL/table.rulake.json and the vectors file it names with libcurl
// into a local mirror directory, with the same commit protocol as publish, so the mirror
// always holds a complete verified bundle (the old one until the new one is verified).
// Only http and https, only allowed hosts, no redirects, TLS verification on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle/errors.h"
#include "bundle/sidecar.h"

namespace ruvector::bundle {

// The network failed, the server answered with an error status or a redirect, or the
// transfer timed out (58030, as other I/O). The message names the URL and gives curl's
// message or the HTTP status.
class FetchError : public BundleError {
 public:
  explicit FetchError(const std::string& message, std::string detail = {})
      : FetchError(ErrorKind::kIo, message, std::move(detail)) {}

 protected:
  FetchError(ErrorKind kind, const std::string& message, std::string detail)
      : BundleError(kind, message, "url", std::move(detail)) {}
};

// The URL was refused before any connection: not a URL, a scheme other than http or
// https, a query or fragment (the bundle's files are found by appending their names), or
// (HostNotAllowedError) a host outside allowed_hosts (22023).
class UrlError : public FetchError {
 public:
  explicit UrlError(const std::string& message, std::string detail = {})
      : FetchError(ErrorKind::kInvalidParameter, message, std::move(detail)) {}
};

class HostNotAllowedError : public UrlError {
 public:
  using UrlError::UrlError;
};

// A file is larger than FetchOptions::max_bytes (or the sidecar's 64 KiB), whatever
// Content-Length claimed; the partial download is removed (54000).
class FetchSizeError : public FetchError {
 public:
  explicit FetchSizeError(const std::string& message)
      : FetchError(ErrorKind::kProgramLimit, message, {}) {}
};

struct FetchOptions {
  std::vector<std::string> allowed_hosts;  // host names (case-insensitive), or "*"; empty: none
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 60000;         // per file
  std::uint64_t max_bytes = 1ull << 32;  // per file, the sidecar included
  // Never turned off by SQL or a GUC: only a test may (its server having no certificate).
  bool verify_tls = true;
  std::string ca_file;  // optional CA bundle for https
};

struct FetchResult {
  Sidecar sidecar;
  bool changed = false;  // false: the mirror already held this witness
  std::uint64_t bytes_downloaded = 0;
};

// "a.example, B.example ,*" -> {"a.example", "b.example", "*"}.
std::vector<std::string> parse_host_list(const std::string& list);

// Checks that `url` is http(s) with no query or fragment and a host in `allowed`
// (case-insensitive; "*" allows any); returns it. Throws UrlError or HostNotAllowedError.
std::string check_fetch_url(const std::string& url, const std::vector<std::string>& allowed);

// Fetches the bundle at base URL `url` into `dir` (created if missing; its parent must
// exist): first URL/table.rulake.json, then, unless `dir` already holds a verified bundle
// with the same rvf_witness, URL/<data_ref>. Throws UrlError before any connection,
// FetchError or FetchSizeError for the transfer, or the bundle's own errors when what was
// served does not verify; `dir` is then left as it was, without temp files.
FetchResult fetch_bundle(const std::string& url, const std::string& dir,
                         const FetchOptions& options);

}  // namespace ruvector::bundle
