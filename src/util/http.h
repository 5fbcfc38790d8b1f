// One HTTP transfer with the project's safety settings, shared by remote bundles and A2A:
// http and https only, no redirects (one could leave the allowed hosts), TLS verified,
// timeouts, a byte limit enforced as bytes arrive, and no signals (we run inside Postgres
// processes). Callers decide what a failed Outcome means; nothing here throws for HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

typedef void CURL;
struct curl_slist;

namespace ruvector::http {

struct Limits {
  long connect_timeout_ms = 5000;
  long total_timeout_ms = 60000;  // 0: none (a stream that may run long)
  long low_speed_time_s = 0;      // >0: abort when under 1 byte/s for this long
  std::uint64_t max_bytes = 1ull << 32;
  // All response headers together. Below libcurl's own limits, whose failures read as
  // "Out of memory" or a receive error, which callers would take for transient.
  std::size_t max_header_bytes = 64 * 1024;
  // Never turned off by SQL or a GUC: only a test may (its server having no certificate).
  bool verify_tls = true;
  std::string ca_file;  // optional CA bundle for https
};

// "a.example, B.example ,*" -> {"a.example", "b.example", "*"}.
std::vector<std::string> parse_host_list(const std::string& list);

enum class UrlProblem { kNone, kInvalid, kScheme, kQueryOrFragment, kHostNotAllowed };

struct UrlCheck {
  UrlProblem problem = UrlProblem::kInvalid;
  std::string scheme;  // lower case
  std::string host;    // lower case, IPv6 without brackets
};

// Whether a URL may carry a query or a fragment.
enum class QueryPart { kRefused, kAllowed };
// Parses `url` and checks it is http(s) with a host in `allowed` (case-insensitive; "*"
// allows any), and without a query or fragment unless kAllowed.
UrlCheck check_url(const std::string& url, const std::vector<std::string>& allowed,
                   QueryPart query);

struct Outcome {
  bool ok = false;                  // the transfer completed and the status was 200
  bool over_limit = false;          // more than Limits::max_bytes arrived
  bool headers_over_limit = false;  // more than Limits::max_header_bytes of headers arrived
  bool stopped = false;             // the sink asked to stop
  long status = 0;                  // HTTP status, 0 if none arrived
  std::string error;                // curl's message when the transfer itself failed
  std::string redirect;             // Location of a 3xx answer
  std::string content_type;
};

// How a caller reports Outcome::headers_over_limit: "the response headers of "<url>" are
// larger than N bytes". Not worth a retry: the same server sends the same headers again.
std::string headers_over_limit_message(const std::string& url, const Limits& limits);

class Transfer {
 public:
  // Receives the body as it arrives; returning false stops the transfer.
  using Sink = std::function<bool(const char* data, std::size_t size)>;

  Transfer(const std::string& url, const Limits& limits, Sink sink);
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  void add_header(const std::string& line);  // "Name: value"
  void set_post_body(std::string body);      // makes it a POST

  // Runs the transfer to its end (blocking).
  Outcome perform();

  // For curl_multi: the handle, and the outcome once the multi handle reports `code`.
  CURL* handle() const { return curl_; }
  Outcome finish(int curl_code);

  std::uint64_t bytes_received() const { return received_; }

 private:
  static std::size_t on_data(char* data, std::size_t size, std::size_t count, void* self);
  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* self);

  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::string body_;
  Sink sink_;
  std::uint64_t limit_;
  std::uint64_t received_ = 0;
  bool over_limit_ = false;
  std::size_t header_limit_;
  std::size_t header_bytes_ = 0;
  bool before_body_ = true;  // no header block has ended yet, or a new one began
  bool headers_over_limit_ = false;
  bool stopped_ = false;
  char error_[256] = {0};
  std::string url_;
};

}  // namespace ruvector::http
