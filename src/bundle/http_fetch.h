// Remote bundles: fetch URL/table.rulake.json and the vectors file it names with libcurl
// into a local mirror directory, with the same commit protocol as publish, so the mirror
// always holds a complete verified bundle (the old one until the new one is verified).
// Only http and https, only allowed hosts, no redirects, TLS verification always on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bundle/errors.h"
#include "bundle/sidecar.h"

namespace ruvector::bundle {

// The network failed, the server answered with an error, a host is not allowed, or a file
// is over the size limit (58030, as other I/O).
class FetchError : public BundleError {
 public:
  explicit FetchError(const std::string& message, std::string detail = {})
      : BundleError(ErrorKind::kIo, message, "url", std::move(detail)) {}
};

struct FetchOptions {
  std::vector<std::string> allowed_hosts;  // lower-case host names, or "*"; empty: none
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 60000;         // per file
  std::uint64_t max_bytes = 1ull << 32;  // per file
  std::string ca_file;                   // optional CA bundle for https
};

struct FetchResult {
  Sidecar sidecar;
  bool changed = false;  // false: the mirror already held this witness
  std::uint64_t bytes_downloaded = 0;
};

// "a.example, B.example ,*" -> {"a.example", "b.example", "*"}.
std::vector<std::string> parse_host_list(const std::string& list);

// Checks that `url` is http(s) with a host in `allowed`; returns it. Throws FetchError.
std::string check_fetch_url(const std::string& url, const std::vector<std::string>& allowed);

// Fetches the bundle at base URL `url` into `dir` (created if missing; its parent must
// exist). Throws FetchError, or the bundle's own errors when what was served does not
// verify; the mirror is then left as it was.
FetchResult fetch_bundle(const std::string& url, const std::string& dir,
                         const FetchOptions& options);

}  // namespace ruvector::bundle
