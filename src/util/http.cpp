// See http.h.
#include "util/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string_view>

#include "util/error.h"

namespace ruvector::http {

namespace {

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Lower case, without the brackets of an IPv6 literal, so "[::1]" matches "::1".
std::string host_key(const std::string& host) {
  std::string h = lower(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};

}  // namespace

std::vector<std::string> parse_host_list(const std::string& list) {
  std::vector<std::string> hosts;
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    std::string host = list.substr(at, comma - at);
    host.erase(0, host.find_first_not_of(" \t"));
    host.erase(host.find_last_not_of(" \t") + 1);
    if (!host.empty()) hosts.push_back(lower(host));
    at = comma + 1;
  }
  return hosts;
}

UrlCheck check_url(const std::string& url, const std::vector<std::string>& allowed,
                   QueryPart query) {
  init_curl();
  UrlCheck check;
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return check;
  auto part = [&](CURLUPart which) {
    char* raw = nullptr;
    if (curl_url_get(u.get(), which, &raw, 0) != CURLUE_OK) return std::string();
    std::unique_ptr<char, CurlFree> owned(raw);
    return std::string(owned.get());
  };
  check.scheme = lower(part(CURLUPART_SCHEME));
  check.host = host_key(part(CURLUPART_HOST));
  if (check.scheme != "http" && check.scheme != "https") {
    check.problem = UrlProblem::kScheme;
  } else if (query == QueryPart::kRefused &&
             (!part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty())) {
    check.problem = UrlProblem::kQueryOrFragment;
  } else if (std::none_of(allowed.begin(), allowed.end(), [&](const std::string& a) {
               return a == "*" || host_key(a) == check.host;
             })) {
    check.problem = UrlProblem::kHostNotAllowed;
  } else {
    check.problem = UrlProblem::kNone;
  }
  return check;
}

std::string headers_over_limit_message(const std::string& url, const Limits& limits) {
  return "the response headers of \"" + url + "\" are larger than " +
         std::to_string(limits.max_header_bytes) + " bytes";
}

Transfer::Transfer(const std::string& url, const Limits& o, Sink sink)
    : sink_(std::move(sink)), limit_(o.max_bytes), header_limit_(o.max_header_bytes), url_(url) {
  init_curl();
  curl_ = curl_easy_init();
  if (curl_ == nullptr) fail(ErrorKind::kResourceLimit, "could not start an HTTP transfer");
  CURL* c = curl_;
  curl_easy_setopt(c, CURLOPT_URL, url_.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);  // the status is judged in finish()
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.total_timeout_ms);
  if (o.low_speed_time_s > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o.low_speed_time_s);
  }
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_bytes));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Transfer::on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_);
}

Transfer::~Transfer() {
  if (curl_ != nullptr) curl_easy_cleanup(curl_);
  if (headers_ != nullptr) curl_slist_free_all(headers_);
}

void Transfer::add_header(const std::string& line) {
  curl_slist* next = curl_slist_append(headers_, line.c_str());
  if (next == nullptr) fail(ErrorKind::kResourceLimit, "out of memory for an HTTP header");
  headers_ = next;
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
}

void Transfer::set_post_body(std::string body) {
  body_ = std::move(body);
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body_.data());
  curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
}

std::size_t Transfer::on_data(char* data, std::size_t size, std::size_t count, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  std::size_t n = size * count;
  if (t->received_ + n > t->limit_) {
    t->over_limit_ = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  t->received_ += n;
  bool go_on = false;
  try {
    go_on = t->sink_(data, n);
  } catch (...) {
    go_on = false;  // the sink records its own error; never unwind through curl
  }
  if (!go_on) {
    t->stopped_ = true;
    return 0;
  }
  return n;
}

// Called with each complete header line, the status line and the blank line included.
std::size_t Transfer::on_header(char* data, std::size_t size, std::size_t count, void* arg) {
  auto* t = static_cast<Transfer*>(arg);
  std::size_t n = size * count;
  t->header_bytes_ += n;
  if (t->header_bytes_ > t->header_limit_) {
    t->headers_over_limit_ = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) t->before_body_ = true;  // a new response (after a 1xx)
  if (line == "\r\n" || line == "\n") t->before_body_ = false;
  return n;
}

Outcome Transfer::perform() { return finish(curl_easy_perform(curl_)); }

Outcome Transfer::finish(int code) {
  auto rc = static_cast<CURLcode>(code);
  Outcome out;
  out.over_limit = over_limit_ || rc == CURLE_FILESIZE_EXCEEDED;
  // A header line longer than libcurl buffers (100 KiB) never reaches on_header: libcurl
  // 7.88 fails with "Out of memory", 8.6 and later with CURLE_TOO_LARGE. Before the body
  // that is the only allocation a peer can make fail.
  bool line_too_long = before_body_ && rc == CURLE_OUT_OF_MEMORY;
#if LIBCURL_VERSION_NUM >= 0x080600
  line_too_long = line_too_long || (before_body_ && rc == CURLE_TOO_LARGE);
#endif
  out.headers_over_limit = headers_over_limit_ || line_too_long;
  out.stopped = stopped_;
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &out.status);
  char* type = nullptr;
  if (curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type != nullptr)
    out.content_type = type;
  char* target = nullptr;
  if (curl_easy_getinfo(curl_, CURLINFO_REDIRECT_URL, &target) == CURLE_OK && target != nullptr)
    out.redirect = target;
  if (rc != CURLE_OK && !out.over_limit && !out.headers_over_limit && !out.stopped)
    out.error = error_[0] != '\0' ? error_ : curl_easy_strerror(rc);
  out.ok = rc == CURLE_OK && out.status == 200;
  return out;
}

}  // namespace ruvector::http
