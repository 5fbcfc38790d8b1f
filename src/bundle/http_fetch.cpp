// See http_fetch.h.
#include "bundle/http_fetch.h"

#include <cctype>

#include <exception>

#include "bundle/dir_commit.h"
#include "bundle/publish.h"
#include "bundle/rust_bundle.h"
#include "bundle/sidecar_json.h"
#include "bundle/vectors_file.h"
#include "bundle/verify.h"
#include "util/http.h"

namespace ruvector::bundle {

namespace {

// Where a download goes: a string (the sidecar) or a file descriptor (the data).
struct Sink {
  std::string* text = nullptr;
  int fd = -1;
  std::string label;
  std::uint64_t written = 0;
  std::uint64_t limit = 0;
};

void download(const std::string& url, Sink* sink, const FetchOptions& o) {
  http::Limits limits;
  limits.connect_timeout_ms = o.connect_timeout_ms;
  limits.total_timeout_ms = o.total_timeout_ms;
  limits.max_bytes = sink->limit;
  limits.verify_tls = o.verify_tls;
  limits.ca_file = o.ca_file;
  std::exception_ptr write_error;
  http::Transfer transfer(url, limits, [&](const char* data, std::size_t n) {
    try {
      if (sink->text != nullptr) {
        sink->text->append(data, n);
      } else {
        pwrite_all(sink->fd, data, n, sink->written, sink->label);
      }
    } catch (...) {
      write_error = std::current_exception();
      return false;
    }
    sink->written += n;
    return true;
  });
  http::Outcome out = transfer.perform();
  if (write_error) std::rethrow_exception(write_error);
  if (out.headers_over_limit) throw FetchSizeError(http::headers_over_limit_message(url, limits));
  if (out.over_limit) {
    throw FetchSizeError("\"" + url + "\" is larger than the limit of " +
                         std::to_string(sink->limit) + " bytes");
  }
  if (!out.error.empty()) throw FetchError("could not fetch \"" + url + "\": " + out.error);
  // Below 400 curl succeeds, a redirect included: what it wrote was not the file.
  if (out.status != 200) {
    if (!out.redirect.empty())
      throw FetchError("could not fetch \"" + url + "\": HTTP status " +
                           std::to_string(out.status) + " redirects to \"" + out.redirect +
                           "\", and redirects are not followed",
                       "Give the final URL of the bundle.");
    throw FetchError("could not fetch \"" + url + "\": HTTP status " + std::to_string(out.status) +
                     " instead of 200");
  }
}

}  // namespace

std::vector<std::string> parse_host_list(const std::string& list) {
  return http::parse_host_list(list);
}

std::string check_fetch_url(const std::string& url, const std::vector<std::string>& allowed) {
  http::UrlCheck c = http::check_url(url, allowed, http::QueryPart::kRefused);
  switch (c.problem) {
    case http::UrlProblem::kNone:
      return url;
    case http::UrlProblem::kInvalid:
      throw UrlError("\"" + url + "\" is not a valid URL");
    case http::UrlProblem::kScheme:
      throw UrlError("remote bundles are fetched over http or https only, not \"" + c.scheme +
                     "\"");
    case http::UrlProblem::kQueryOrFragment:
      throw UrlError("the bundle URL \"" + url + "\" has a query or fragment",
                     "The bundle's files are fetched by appending their names to the URL.");
    case http::UrlProblem::kHostNotAllowed:
      break;
  }
  throw HostNotAllowedError("host \"" + c.host + "\" is not in rulake.allowed_hosts",
                            "A superuser adds it with ALTER SYSTEM SET rulake.allowed_hosts.");
}

namespace {

// A file name with no directory, scheme or leading dot.
bool plain_file_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  }
  return true;
}

}  // namespace

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
  const bool rust = s.scheme != WitnessScheme::kNative;
  // A Rust sidecar names its data file as it likes and does not authenticate it (its
  // witness covers the name, not the bytes): only a plain file name next to the sidecar
  // names something on the server, and is safe to append to the URL.
  if (rust && !plain_file_name(s.data_ref))
    throw FormatError("bundle sidecar at \"" + sidecar_url + "\" names data file \"" +
                          s.data_ref.substr(0, 200) +
                          "\"; a remote Rust bundle must name a file next to its sidecar",
                      "data_ref");
  // Named by its digest, a new data file never replaces one the mirror's sidecar names
  // with other bytes, so the old bundle stays valid until the sidecar rename. The name is
  // also safe to append to the URL as it is.
  if (!rust && s.data_ref != data_file_name(s.data_digest))
    throw FormatError("bundle sidecar at \"" + sidecar_url + "\" names data file \"" + s.data_ref +
                          "\"; a remote bundle must name it by its digest, \"" +
                          data_file_name(s.data_digest) + "\", as publish does",
                      "data_ref");
  result.sidecar = s;

  ensure_directory(dir);
  UniqueFd dir_fd = open_directory(dir);
  try {
    // A Rust witness does not cover the data, so a Rust mirror is current only while the
    // remote sidecar is byte for byte the one mirrored (its data is fetched again when the
    // sidecar changes, not when only the data file does).
    if (read_sidecar_checked(dir).rvf_witness == s.rvf_witness &&
        (!rust || read_whole_file(open_file_in(dir_fd.get(), kSidecarName, dir).get(),
                                  kMaxSidecarBytes, dir) == text)) {
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
  if (rust) {
    // Nothing authenticates the bytes: check that they are a ruvec1 file of the sidecar's
    // dimensions with finite values, as a local Rust bundle is checked when read.
    VectorsScan scan = scan_ruvec1_file(data_fd.get(), data_sink.label, nullptr);
    s.data_digest = scan.digest;
    check_vectors_match(s, scan, data_url);
  } else {
    VectorsScan scan = scan_vectors_file(data_fd.get(), data_sink.label, nullptr);
    check_vectors_match(s, scan, data_url);
  }
  fsync_or_throw(data_fd.get(), data_sink.label);
  data_fd.reset();
  // A Rust data file's name may be the one the mirror holds now: between this rename and
  // the sidecar's, a reader sees the old sidecar with the new data. Its cache key covers
  // the data it read (their digest), and a shape that does not match is refused, so it
  // serves the rows it read or an error, and the next read sees the new bundle.
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
