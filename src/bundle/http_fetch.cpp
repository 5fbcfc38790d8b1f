// See http_fetch.h.
#include "bundle/http_fetch.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "bundle/dir_commit.h"
#include "bundle/publish.h"
#include "bundle/sidecar_json.h"
#include "bundle/vectors_file.h"
#include "bundle/verify.h"

namespace ruvector::bundle {

namespace {

void init_curl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};

// Where a download goes: a string (the sidecar) or a file descriptor (the data), with the
// size limit enforced as bytes arrive, whatever Content-Length claimed.
struct Sink {
  std::string* text = nullptr;
  int fd = -1;
  std::string label;
  std::uint64_t written = 0;
  std::uint64_t limit = 0;
  bool over_limit = false;
};

size_t write_callback(char* data, size_t size, size_t count, void* arg) {
  auto* sink = static_cast<Sink*>(arg);
  size_t n = size * count;
  if (sink->written + n > sink->limit) {
    sink->over_limit = true;
    return 0;  // makes curl fail with CURLE_WRITE_ERROR
  }
  try {
    if (sink->text != nullptr) {
      sink->text->append(data, n);
    } else {
      pwrite_all(sink->fd, data, n, sink->written, sink->label);
    }
  } catch (...) {
    return 0;
  }
  sink->written += n;
  return n;
}

void download(const std::string& url, Sink* sink, const FetchOptions& o) {
  init_curl();
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) throw FetchError("could not start an HTTP transfer");
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could leave allowed_hosts
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);        // we run inside a Postgres process
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o.connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.total_timeout_ms);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(sink->limit));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o.verify_tls ? 2L : 0L);
  if (!o.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, o.ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_callback);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  CURLcode rc = curl_easy_perform(c);
  if (sink->over_limit || rc == CURLE_FILESIZE_EXCEEDED) {
    throw FetchSizeError("\"" + url + "\" is larger than the limit of " +
                         std::to_string(sink->limit) + " bytes");
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) {
    std::string why = error[0] != '\0' ? error : curl_easy_strerror(rc);
    throw FetchError("could not fetch \"" + url + "\": " + why,
                     status >= 300 ? "HTTP status " + std::to_string(status) : std::string());
  }
  // Below 400 curl succeeds, a redirect included: what it wrote was not the file.
  if (status != 200) {
    char* target = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &target);
    if (target != nullptr)
      throw FetchError("could not fetch \"" + url + "\": HTTP status " + std::to_string(status) +
                           " redirects to \"" + target + "\", and redirects are not followed",
                       "Give the final URL of the bundle.");
    throw FetchError("could not fetch \"" + url + "\": HTTP status " + std::to_string(status) +
                     " instead of 200");
  }
}

// Lower case, without the brackets of an IPv6 literal, so "[::1]" matches "::1".
std::string host_key(const std::string& host) {
  std::string h = lower(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

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

std::string check_fetch_url(const std::string& url, const std::vector<std::string>& allowed) {
  init_curl();
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    throw UrlError("\"" + url + "\" is not a valid URL");
  auto part = [&](CURLUPart which) {
    char* raw = nullptr;
    if (curl_url_get(u.get(), which, &raw, 0) != CURLUE_OK) return std::string();
    std::unique_ptr<char, CurlFree> owned(raw);
    return std::string(owned.get());
  };
  std::string s = lower(part(CURLUPART_SCHEME));
  if (s != "http" && s != "https")
    throw UrlError("remote bundles are fetched over http or https only, not \"" + s + "\"");
  if (!part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty())
    throw UrlError("the bundle URL \"" + url + "\" has a query or fragment",
                   "The bundle's files are fetched by appending their names to the URL.");
  std::string h = host_key(part(CURLUPART_HOST));
  bool ok = std::any_of(allowed.begin(), allowed.end(),
                        [&](const std::string& a) { return a == "*" || host_key(a) == h; });
  if (!ok)
    throw HostNotAllowedError("host \"" + h + "\" is not in rulake.allowed_hosts",
                              "A superuser adds it with ALTER SYSTEM SET rulake.allowed_hosts.");
  return url;
}

FetchResult fetch_bundle(const std::string& url, const std::string& dir, const FetchOptions& o) {
  std::string base = check_fetch_url(url, o.allowed_hosts);
  if (base.back() != '/') base += '/';
  FetchResult result;

  std::string text;
  Sink sidecar_sink;
  sidecar_sink.text = &text;
  sidecar_sink.limit = std::min<std::uint64_t>(kMaxSidecarBytes, o.max_bytes);
  const std::string sidecar_url = base + kSidecarName;
  download(sidecar_url, &sidecar_sink, o);
  result.bytes_downloaded += sidecar_sink.written;
  Sidecar s = parse_checked_sidecar(text, sidecar_url);
  // Named by its digest, a new data file never replaces one the mirror's sidecar names
  // with other bytes, so the old bundle stays valid until the sidecar rename. The name is
  // also safe to append to the URL as it is.
  if (s.data_ref != data_file_name(s.data_digest))
    throw FormatError("bundle sidecar at \"" + sidecar_url + "\" names data file \"" + s.data_ref +
                          "\"; a remote bundle must name it by its digest, \"" +
                          data_file_name(s.data_digest) + "\", as publish does",
                      "data_ref");
  result.sidecar = s;

  ensure_directory(dir);
  UniqueFd dir_fd = open_directory(dir);
  try {
    if (read_sidecar_checked(dir).rvf_witness == s.rvf_witness) {
      verify_bundle_or_throw(dir);  // the data too: a damaged mirror is fetched again
      return result;
    }
  } catch (const BundleError&) {
    // No mirror yet, or a damaged one: fetch.
  }

  TempFile data_tmp(dir_fd.get());
  UniqueFd data_fd = data_tmp.create(kVectorsBase, dir);
  Sink data_sink;
  data_sink.fd = data_fd.get();
  data_sink.label = dir + "/" + data_tmp.name();
  data_sink.limit = o.max_bytes;
  const std::string data_url = base + s.data_ref;
  download(data_url, &data_sink, o);
  result.bytes_downloaded += data_sink.written;
  // The checks verify_bundle_or_throw makes, on the temp file before it is named: the
  // sidecar was checked against its witness above, the data is checked against the sidecar.
  VectorsScan scan = scan_vectors_file(data_fd.get(), data_sink.label, nullptr);
  check_vectors_match(s, scan, data_url);
  fsync_or_throw(data_fd.get(), data_sink.label);
  data_fd.reset();
  rename_in(dir_fd.get(), data_tmp.name(), s.data_ref, dir);
  data_tmp.disarm();
  fsync_or_throw(dir_fd.get(), dir);

  TempFile sidecar_tmp(dir_fd.get());
  UniqueFd sidecar_fd = sidecar_tmp.create(kSidecarName, dir);
  pwrite_all(sidecar_fd.get(), text.data(), text.size(), 0, dir + "/" + sidecar_tmp.name());
  fsync_or_throw(sidecar_fd.get(), dir + "/" + sidecar_tmp.name());
  sidecar_fd.reset();
  rename_in(dir_fd.get(), sidecar_tmp.name(), kSidecarName, dir);
  sidecar_tmp.disarm();
  fsync_or_throw(dir_fd.get(), dir);

  std::vector<std::string> removed;
  std::string warning;
  clean_up(dir_fd.get(), s.data_ref, &removed, &warning);
  result.changed = true;
  return result;
}

}  // namespace ruvector::bundle
