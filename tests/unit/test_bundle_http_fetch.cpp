// Remote bundles: a tiny HTTP server on 127.0.0.1 serves a published bundle and, per file,
// misbehaves on request (error status, redirect, truncated body, stall); the fetch mirrors
// the bundle, skips unchanged witnesses, and leaves the old mirror on every failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "bundle/errors.h"
#include "bundle/http_fetch.h"
#include "bundle/rust_bundle.h"
#include "bundle/sidecar_json.h"
#include "bundle/verify.h"
#include "loopback_listener.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::TempDir;

namespace {

constexpr char kSidecar[] = "table.rulake.json";

// How the server answers for one file name; files without a rule are served from the root
// directory (404 when missing).
struct Rule {
  enum Kind {
    kStatus,       // `status` with a short body
    kRedirect,     // 302 to `location`
    kNoLength,     // the file, without Content-Length (the end is the connection's close)
    kTruncate,     // Content-Length of the whole file, half the body, then close
    kStall,        // nothing at all until the client gives up
    kStallInBody,  // the headers and half the body, then nothing
    kHugeHeader,   // the file after a 300 KiB header line
  };
  Kind kind = kStatus;
  int status = 500;
  std::string location;
};

// Serves one connection at a time, HTTP/1.0 with Connection: close, until destroyed.
class FileServer {
 public:
  explicit FileServer(std::string root) : root_(std::move(root)) {
    fd_ = test_util::listen_loopback(&port_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FileServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return origin() + "/b"; }
  void set_rule(const std::string& name, Rule rule) {
    std::lock_guard<std::mutex> lock(mutex_);
    rules_[name] = std::move(rule);
  }
  void clear_rules() {
    std::lock_guard<std::mutex> lock(mutex_);
    rules_.clear();
  }
  // The file names requested since the last call, in order.
  std::vector<std::string> take_requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::exchange(requests_, {});
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      answer(c);
      ::close(c);
    }
  }

  void answer(int c) {
    std::string req = read_request(c);
    if (req.compare(0, 4, "GET ") != 0) {  // a TLS handshake, say
      send_all(c, "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    std::string path = req.substr(4, req.find(' ', 4) - 4);  // "/b/<name>"
    std::string name = path.substr(path.find_last_of('/') + 1);
    Rule rule;
    bool has_rule;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(name);
      auto it = rules_.find(name);
      has_rule = it != rules_.end();
      if (has_rule) rule = it->second;
    }
    std::string file = root_ + "/" + name;
    std::string body = std::filesystem::exists(file) ? bundle_test::read_file(file) : "";
    std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!has_rule) {
      if (!std::filesystem::exists(file))
        rule.status = 404;
      else
        rule.status = 200;
    }
    switch (has_rule ? rule.kind : Rule::kStatus) {
      case Rule::kStatus:
        if (rule.status != 200) body = "error " + std::to_string(rule.status) + "\n";
        send_all(c, "HTTP/1.0 " + std::to_string(rule.status) +
                        " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
        return;
      case Rule::kRedirect:
        send_all(c, "HTTP/1.0 302 Found\r\nLocation: " + rule.location +
                        "\r\nContent-Length: 0\r\n\r\n");
        return;
      case Rule::kNoLength:
        send_all(c, "HTTP/1.0 200 OK\r\n\r\n" + body);
        return;
      case Rule::kTruncate:
        send_all(c, "HTTP/1.0 200 OK\r\n" + length + "\r\n" + body.substr(0, body.size() / 2));
        return;
      case Rule::kStall:
        wait_for_close(c);
        return;
      case Rule::kStallInBody:
        send_all(c, "HTTP/1.0 200 OK\r\n" + length + "\r\n" + body.substr(0, body.size() / 2));
        wait_for_close(c);
        return;
      case Rule::kHugeHeader:
        send_all(c, "HTTP/1.0 200 OK\r\nX-Big: " + std::string(300 * 1024, 'a') + "\r\n" + length +
                        "\r\n" + body);
        return;
    }
  }

  static std::string read_request(int c) {
    std::string req;
    char buf[4096];
    while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
      ssize_t n = ::read(c, buf, sizeof(buf));
      if (n <= 0) break;
      req.append(buf, static_cast<std::size_t>(n));
      if (req.size() >= 4 && req.compare(0, 4, "GET ") != 0) break;
    }
    return req;
  }

  static void send_all(int c, const std::string& all) {
    for (std::size_t off = 0; off < all.size();) {
      ssize_t w = ::send(c, all.data() + off, all.size() - off, MSG_NOSIGNAL);
      if (w <= 0) return;
      off += static_cast<std::size_t>(w);
    }
  }

  // Until the client closes the connection (its timeout) or the server stops.
  void wait_for_close(int c) {
    char buf[256];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && ::read(c, buf, sizeof(buf)) <= 0) return;
    }
  }

  std::string root_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<std::string, Rule> rules_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// `openssl s_server -WWW` serving `root` over TLS with a fresh self-signed certificate for
// IP 127.0.0.1 (in `cert_dir`/cert.pem); ok() is false when openssl is not available.
class TlsServer {
 public:
  TlsServer(const std::string& root, const std::string& cert_dir) {
    cert_ = cert_dir + "/cert.pem";
    std::string key = cert_dir + "/key.pem";
    std::string req =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
        "-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
        "-keyout '" +
        key + "' -out '" + cert_ + "' >/dev/null 2>&1";
    if (std::system(req.c_str()) != 0) return;
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      if (::chdir(root.c_str()) == 0)
        ::execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-WWW", "-cert",
                 cert_.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    out_ = ::fdopen(out[0], "r");
    char line[512];
    while (pid_ > 0 && std::fgets(line, sizeof(line), out_) != nullptr) {
      std::string text = line;  // "ACCEPT 127.0.0.1:<port>"
      if (text.compare(0, 7, "ACCEPT ") == 0) {
        port_ = text.substr(text.rfind(':') + 1, text.find_last_not_of("\r\n") - text.rfind(':'));
        break;
      }
    }
  }
  ~TlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ != nullptr) std::fclose(out_);
  }
  bool ok() const { return !port_.empty(); }
  std::string url() const { return "https://127.0.0.1:" + port_; }
  const std::string& cert() const { return cert_; }

 private:
  std::string cert_;
  std::string port_;
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

// 100 rows of dim 8 that differ by generation: a data file (4 KiB) larger than the sidecar.
rb::Sidecar publish(const std::string& dir, std::uint64_t generation) {
  rb::BundleMeta meta;
  meta.rotation_seed = 7;
  meta.rerank_factor = 20;
  meta.generation = generation;
  std::vector<std::int64_t> ids(100);
  for (std::size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<std::int64_t>(i);
  return rb::publish_bundle_from_rows(dir, meta, 8, ids,
                                      bundle_test::pseudo_rows(100, 8, generation))
      .sidecar;
}

rb::FetchOptions options() {
  rb::FetchOptions o;
  o.allowed_hosts = {"127.0.0.1"};
  o.connect_timeout_ms = 2000;
  o.total_timeout_ms = 5000;
  return o;
}

// The mirror holds exactly `expected` (sidecar and data file), verified, and nothing else.
void expect_mirror(const std::string& dir, const rb::Sidecar& expected) {
  EXPECT_EQ(rb::verify_bundle_or_throw(dir), expected);
  EXPECT_EQ(bundle_test::list_dir(dir), (std::vector<std::string>{kSidecar, expected.data_ref}))
      << "no temp files, no stale data files";
}

template <typename E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(BundleHttpFetch, MirrorsAndSkipsUnchanged) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");  // created by the fetch
  rb::FetchResult r = rb::fetch_bundle(server.url(), m, options());
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.sidecar, published);
  expect_mirror(m, published);
  for (const std::string& name : {std::string(kSidecar), published.data_ref})
    EXPECT_EQ(bundle_test::read_file(m + "/" + name), bundle_test::read_file(src.sub(name)));
  const std::uint64_t sidecar_bytes = bundle_test::read_file(src.sub(kSidecar)).size();
  EXPECT_EQ(r.bytes_downloaded,
            sidecar_bytes + bundle_test::read_file(src.sub(published.data_ref)).size());
  EXPECT_EQ(server.take_requests(), (std::vector<std::string>{kSidecar, published.data_ref}));

  r = rb::fetch_bundle(server.url() + "/", m, options());
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(r.sidecar, published);
  EXPECT_EQ(r.bytes_downloaded, sidecar_bytes);
  EXPECT_EQ(server.take_requests(), std::vector<std::string>{kSidecar})
      << "only the sidecar is fetched when the witness is unchanged";

  rb::Sidecar second = publish(src.path(), 2);
  r = rb::fetch_bundle(server.url(), m, options());
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.sidecar, second);
  expect_mirror(m, second);  // the old data file is removed

  // A damaged mirror with the current witness is fetched again rather than trusted.
  std::string bytes = bundle_test::read_file(m + "/" + second.data_ref);
  bytes.back() ^= 1;
  bundle_test::write_file(m + "/" + second.data_ref, bytes);
  EXPECT_TRUE(rb::fetch_bundle(server.url(), m, options()).changed);
  expect_mirror(m, second);
}

TEST(BundleHttpFetch, RefusesUrlsBeforeAnyConnection) {
  TempDir src, dst;
  publish(src.path(), 1);
  FileServer server(src.path());
  rb::FetchOptions o = options();
  o.allowed_hosts = {"example.com"};
  EXPECT_THROW(rb::fetch_bundle(server.url(), dst.sub("m"), o), rb::HostNotAllowedError);
  o.allowed_hosts = {};
  EXPECT_THROW(rb::fetch_bundle(server.url(), dst.sub("m"), o), rb::HostNotAllowedError)
      << "an empty list allows nothing";
  o.allowed_hosts = {"*"};
  for (const std::string& url : std::vector<std::string>{
           "file://" + src.path(), "ftp://127.0.0.1/b", "gopher://127.0.0.1/b", "127.0.0.1/b",
           server.url() + "?x=1", server.url() + "#frag", std::string()})
    EXPECT_THROW(rb::fetch_bundle(url, dst.sub("m"), o), rb::UrlError) << url;
  EXPECT_TRUE(server.take_requests().empty()) << "a refused URL is never contacted";
  EXPECT_FALSE(std::filesystem::exists(dst.sub("m"))) << "nor is the mirror created";

  // Host names compare case-insensitively; "*" allows any; IPv6 literals without brackets.
  EXPECT_NO_THROW(rb::check_fetch_url("https://Bundles.EXAMPLE.com/b", {"bundles.example.COM"}));
  EXPECT_NO_THROW(rb::check_fetch_url("HTTP://anything.example/b", {"*"}));
  EXPECT_NO_THROW(rb::check_fetch_url("http://[::1]:8080/b", {"::1"}));
  EXPECT_THROW(rb::check_fetch_url("http://bundles.example.com.evil/b", {"bundles.example.com"}),
               rb::HostNotAllowedError);
  EXPECT_THROW(rb::check_fetch_url("http://evil.example@127.0.0.2/b", {"evil.example"}),
               rb::HostNotAllowedError)
      << "userinfo is not the host";
  EXPECT_EQ(rb::parse_host_list(" A.example, b ,*"),
            (std::vector<std::string>{"a.example", "b", "*"}));
}

TEST(BundleHttpFetch, RedirectsAreNotFollowed) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  rb::fetch_bundle(server.url(), m, options());
  rb::Sidecar second = publish(src.path(), 2);
  server.take_requests();
  // To a host outside the list, and even to the same allowed server: refused, not followed.
  for (const std::string& target : {std::string("http://example.com/b/") + kSidecar,
                                    server.origin() + "/elsewhere/" + kSidecar}) {
    server.set_rule(kSidecar, {Rule::kRedirect, 302, target});
    std::string what =
        error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), m, options()); });
    EXPECT_TRUE(contains(what, "302") && contains(what, target)) << what;
    EXPECT_EQ(server.take_requests(), std::vector<std::string>{kSidecar});
  }
  server.clear_rules();
  server.set_rule(second.data_ref, {Rule::kRedirect, 302, "http://example.com/x.rvb"});
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::FetchError);
  expect_mirror(m, published);
}

TEST(BundleHttpFetch, HttpErrorsLeaveTheOldMirror) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  rb::fetch_bundle(server.url(), m, options());
  rb::Sidecar second = publish(src.path(), 2);

  // The new data file is missing: 404 after the sidecar was fetched.
  std::filesystem::rename(src.sub(second.data_ref), src.sub("aside"));
  std::string what =
      error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), m, options()); });
  EXPECT_TRUE(contains(what, "404") && contains(what, second.data_ref)) << what;
  expect_mirror(m, published);
  std::filesystem::rename(src.sub("aside"), src.sub(second.data_ref));

  server.set_rule(kSidecar, {Rule::kStatus, 503, ""});
  what = error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), m, options()); });
  EXPECT_TRUE(contains(what, "503") && contains(what, server.url())) << what;
  server.set_rule(kSidecar, {Rule::kStatus, 204, ""});
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::FetchError)
      << "only 200 is a file";
  server.clear_rules();
  std::filesystem::remove(src.sub(kSidecar));
  what = error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), m, options()); });
  EXPECT_TRUE(contains(what, "404")) << what;
  expect_mirror(m, published);

  // Nothing listens on the port any more.
  std::string url = server.url();
  {
    TempDir empty;
    FileServer other(empty.path());
    url = other.url();
  }
  EXPECT_THROW(rb::fetch_bundle(url, m, options()), rb::FetchError);
  expect_mirror(m, published);
}

TEST(BundleHttpFetch, BadContentIsRefused) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  rb::fetch_bundle(server.url(), m, options());

  // Tampered data served under the published sidecar.
  rb::Sidecar second = publish(src.path(), 2);
  std::string good = bundle_test::read_file(src.sub(second.data_ref));
  std::string bad = good;
  bad[bad.size() - 1] ^= 1;
  bundle_test::write_file(src.sub(second.data_ref), bad);
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::IntegrityError);
  expect_mirror(m, published);
  bundle_test::write_file(src.sub(second.data_ref), good);

  // A sidecar changed after publishing.
  std::string sidecar = bundle_test::read_file(src.sub(kSidecar));
  std::string changed = sidecar;
  changed.replace(changed.find("\"rerank_factor\": 20"), 19, "\"rerank_factor\": 21");
  bundle_test::write_file(src.sub(kSidecar), changed);
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::IntegrityError);
  bundle_test::write_file(src.sub(kSidecar), "{not json");
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::FormatError);

  // A well-signed sidecar whose data file is not named by its digest: refused before the
  // data is fetched, since installing it could overwrite the data of the current mirror.
  rb::Sidecar renamed = second;
  renamed.data_ref = "data.rvb";
  renamed.rvf_witness = rb::compute_witness(renamed);
  bundle_test::write_file(src.sub(kSidecar), rb::sidecar_to_json(renamed));
  bundle_test::write_file(src.sub("data.rvb"), good);
  server.take_requests();
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::FormatError);
  EXPECT_EQ(server.take_requests(), std::vector<std::string>{kSidecar});
  expect_mirror(m, published);

  bundle_test::write_file(src.sub(kSidecar), sidecar);
  EXPECT_TRUE(rb::fetch_bundle(server.url(), m, options()).changed);
  expect_mirror(m, second);
}

// A bundle of the Rust RuVector's format: its data file is not named by a digest and its
// witness does not cover the bytes, so the mirror takes a plain file name next to the
// sidecar only, checks the bytes are a ruvec1 file of the sidecar's shape, and fetches
// again when the sidecar changes.
TEST(BundleHttpFetch, RustBundlesAreMirrored) {
  TempDir src, dst;
  rb::BundleMeta meta;
  meta.format = rb::BundleFormat::kRust;
  meta.rotation_seed = 7;
  meta.rerank_factor = 20;
  meta.generation = std::uint64_t{1};
  std::vector<std::int64_t> ids(50);
  for (std::size_t i = 0; i < ids.size(); i++) ids[i] = static_cast<std::int64_t>(i);
  rb::Sidecar published =
      rb::publish_bundle_from_rows(src.path(), meta, 8, ids, bundle_test::pseudo_rows(50, 8, 1))
          .sidecar;
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  EXPECT_TRUE(rb::fetch_bundle(server.url(), m, options()).changed);
  EXPECT_EQ(rb::verify_bundle_or_throw(m).rvf_witness, published.rvf_witness);
  EXPECT_EQ(bundle_test::list_dir(m), (std::vector<std::string>{kSidecar, published.data_ref}));
  EXPECT_FALSE(rb::fetch_bundle(server.url(), m, options()).changed);

  // A data file that is not ruvec1 of the sidecar's shape is refused; the mirror stays.
  std::string good = bundle_test::read_file(src.sub(published.data_ref));
  std::string sidecar = bundle_test::read_file(src.sub(kSidecar));
  bundle_test::write_file(src.sub(published.data_ref), good.substr(0, good.size() - 4));
  bundle_test::write_file(src.sub(kSidecar), sidecar + " ");  // changed: fetched again
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::BundleError);
  EXPECT_EQ(rb::verify_bundle_or_throw(m).rvf_witness, published.rvf_witness);
  bundle_test::write_file(src.sub(published.data_ref), good);

  // A data_ref that is not a file next to the sidecar names nothing on the server: refused
  // before any data is requested.
  rb::Sidecar uri = published;
  uri.data_ref = "file:///etc/passwd";
  uri.rvf_witness = rb::compute_rust_witness(uri);
  bundle_test::write_file(src.sub(kSidecar), rb::rust_sidecar_to_json(uri));
  server.take_requests();
  std::string message =
      error_of<rb::FormatError>([&] { rb::fetch_bundle(server.url(), m, options()); });
  EXPECT_TRUE(contains(message, "must name a file next to its sidecar")) << message;
  EXPECT_EQ(server.take_requests(), std::vector<std::string>{kSidecar});
}

TEST(BundleHttpFetch, SizeLimitsAndBrokenTransfers) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  rb::fetch_bundle(server.url(), m, options());
  rb::Sidecar second = publish(src.path(), 2);
  const std::uint64_t sidecar_size = bundle_test::read_file(src.sub(kSidecar)).size();
  const std::uint64_t data_size = bundle_test::read_file(src.sub(second.data_ref)).size();
  ASSERT_LT(sidecar_size, data_size);

  rb::FetchOptions o = options();
  o.max_bytes = data_size - 1;
  // Announced by Content-Length (curl stops before the body), and not announced (the
  // write callback stops it): both refused, the partial file removed.
  for (Rule::Kind kind : {Rule::kStatus, Rule::kNoLength}) {
    server.set_rule(second.data_ref, {kind, 200, ""});
    std::string what = error_of<rb::FetchSizeError>([&] { rb::fetch_bundle(server.url(), m, o); });
    EXPECT_TRUE(contains(what, std::to_string(data_size - 1))) << what;
    expect_mirror(m, published);
  }
  o.max_bytes = sidecar_size - 1;  // the limit is per file, the sidecar's too
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, o), rb::FetchSizeError);
  o.max_bytes = data_size;
  server.clear_rules();
  EXPECT_TRUE(rb::fetch_bundle(server.url(), m, o).changed) << "a file of exactly the limit";
  expect_mirror(m, second);

  rb::Sidecar third = publish(src.path(), 3);
  server.set_rule(third.data_ref, {Rule::kTruncate, 200, ""});
  EXPECT_THROW(rb::fetch_bundle(server.url(), m, options()), rb::FetchError);
  expect_mirror(m, second);
  server.set_rule(third.data_ref, {Rule::kNoLength, 200, ""});
  EXPECT_TRUE(rb::fetch_bundle(server.url(), m, options()).changed)
      << "a body ended by the connection's close is complete";
  expect_mirror(m, third);
}

// libcurl reports a header line over its buffer as "Out of memory": a size error instead.
TEST(BundleHttpFetch, OversizedHeadersAreASizeError) {
  TempDir src, dst;
  publish(src.path(), 1);
  FileServer server(src.path());
  server.set_rule(kSidecar, {Rule::kHugeHeader, 200, ""});
  std::string what = error_of<rb::FetchSizeError>(
      [&] { rb::fetch_bundle(server.url(), dst.sub("m"), options()); });
  EXPECT_TRUE(contains(what, "response headers of \"" + server.url() + "/" + kSidecar +
                                 "\" are larger than 65536 bytes"))
      << what;
}

TEST(BundleHttpFetch, StalledServersTimeOut) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  const std::string m = dst.sub("m");
  rb::fetch_bundle(server.url(), m, options());
  rb::Sidecar second = publish(src.path(), 2);

  rb::FetchOptions o = options();
  o.total_timeout_ms = 300;
  for (const auto& [name, kind] : {std::pair{std::string(kSidecar), Rule::kStall},
                                   std::pair{second.data_ref, Rule::kStallInBody}}) {
    server.clear_rules();
    server.set_rule(name, {kind, 200, ""});
    auto start = std::chrono::steady_clock::now();
    std::string what = error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), m, o); });
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(contains(what, "timed out") && contains(what, name)) << what;
    EXPECT_LT(took, std::chrono::seconds(3)) << "the 300 ms limit holds";
    expect_mirror(m, published);
  }
}

TEST(BundleHttpFetch, HttpsUrlsSpeakTls) {
  TempDir src, dst;
  publish(src.path(), 1);
  FileServer server(src.path());  // plain HTTP: no TLS handshake can succeed
  std::string url = "https://127.0.0.1:" + server.url().substr(server.url().rfind(':') + 1);
  std::string what =
      error_of<rb::FetchError>([&] { rb::fetch_bundle(url, dst.sub("m"), options()); });
  EXPECT_TRUE(contains(what, url)) << what;
  EXPECT_FALSE(std::filesystem::exists(dst.sub("m")));
}

TEST(BundleHttpFetch, HttpsVerifiesTheServerCertificate) {
  TempDir src, dst, certs;
  rb::Sidecar published = publish(src.path(), 1);
  TlsServer server(src.path(), certs.path());
  if (!server.ok()) GTEST_SKIP() << "openssl s_server is not available";
  std::string what =
      error_of<rb::FetchError>([&] { rb::fetch_bundle(server.url(), dst.sub("m1"), options()); });
  EXPECT_TRUE(contains(what, "certificate")) << what;
  EXPECT_FALSE(std::filesystem::exists(dst.sub("m1")));

  rb::FetchOptions o = options();
  o.ca_file = server.cert();
  EXPECT_TRUE(rb::fetch_bundle(server.url(), dst.sub("m2"), o).changed);
  expect_mirror(dst.sub("m2"), published);

  o = options();
  o.verify_tls = false;
  EXPECT_TRUE(rb::fetch_bundle(server.url(), dst.sub("m3"), o).changed);
  expect_mirror(dst.sub("m3"), published);
}
