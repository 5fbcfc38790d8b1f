// Remote bundles: a tiny HTTP server on 127.0.0.1 serves a published bundle; the fetch
// mirrors it, skips unchanged witnesses, and leaves the old mirror on every failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "bundle/errors.h"
#include "bundle/http_fetch.h"
#include "bundle/verify.h"
#include "test_bundle_util.h"

namespace rb = ruvector::bundle;
using bundle_test::TempDir;

namespace {

// Serves files of `root` by name, one connection at a time, HTTP/1.0, until destroyed.
class FileServer {
 public:
  explicit FileServer(std::string root) : root_(std::move(root)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, 8);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FileServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/b"; }
  std::atomic<int> requests{0};

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      requests++;
      char buf[4096];
      ssize_t n = ::read(c, buf, sizeof(buf) - 1);
      std::string req(buf, n > 0 ? n : 0);
      std::string path = req.substr(4, req.find(' ', 4) - 4);  // "GET /b/<name> "
      std::string name = path.substr(path.find_last_of('/') + 1);
      std::string body;
      bool found = std::filesystem::exists(root_ + "/" + name);
      if (found) body = bundle_test::read_file(root_ + "/" + name);
      std::string head = found ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.0 404 Not Found\r\n";
      head += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      std::string all = head + body;
      for (std::size_t off = 0; off < all.size();) {
        ssize_t w = ::write(c, all.data() + off, all.size() - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
      }
      ::close(c);
    }
  }
  std::string root_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

rb::Sidecar publish(const std::string& dir, std::uint64_t generation, float scale = 1) {
  rb::BundleMeta meta;
  meta.rotation_seed = 7;
  meta.rerank_factor = 20;
  meta.generation = generation;
  std::vector<std::int64_t> ids = {1, 2, 3};
  std::vector<float> rows = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (float& r : rows) r *= scale;
  return rb::publish_bundle_from_rows(dir, meta, 3, ids, rows).sidecar;
}

rb::FetchOptions options() {
  rb::FetchOptions o;
  o.allowed_hosts = {"127.0.0.1"};
  o.total_timeout_ms = 5000;
  return o;
}

}  // namespace

TEST(BundleHttpFetch, MirrorsAndSkipsUnchanged) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  rb::FetchResult r = rb::fetch_bundle(server.url(), dst.sub("m"), options());
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(r.sidecar, published);
  EXPECT_EQ(rb::verify_bundle_or_throw(dst.sub("m")), published);
  int before = server.requests;
  r = rb::fetch_bundle(server.url(), dst.sub("m"), options());
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(server.requests - before, 1) << "only the sidecar is fetched when unchanged";
  rb::Sidecar second = publish(src.path(), 2, 2);
  r = rb::fetch_bundle(server.url(), dst.sub("m"), options());
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(rb::verify_bundle_or_throw(dst.sub("m")), second);
  EXPECT_EQ(bundle_test::list_dir(dst.sub("m")).size(), 2u) << "the old data file is removed";
}

TEST(BundleHttpFetch, RefusesHostsSchemesAndBadContent) {
  TempDir src, dst;
  rb::Sidecar published = publish(src.path(), 1);
  FileServer server(src.path());
  rb::FetchOptions o = options();
  o.allowed_hosts = {"example.com"};
  EXPECT_THROW(rb::fetch_bundle(server.url(), dst.sub("m"), o), rb::FetchError);
  EXPECT_EQ(server.requests, 0) << "a host outside the list is never contacted";
  EXPECT_THROW(rb::check_fetch_url("ftp://127.0.0.1/b", {"*"}), rb::FetchError);
  EXPECT_THROW(rb::check_fetch_url("file:///etc/passwd", {"*"}), rb::FetchError);
  EXPECT_EQ(rb::parse_host_list(" A.example, b ,*"),
            (std::vector<std::string>{"a.example", "b", "*"}));

  rb::fetch_bundle(server.url(), dst.sub("m"), options());
  // Tampered data served under the published sidecar: refused, the mirror keeps the old one.
  rb::Sidecar second = publish(src.path(), 2, 3);
  std::string bytes = bundle_test::read_file(src.sub(second.data_ref));
  bytes[bytes.size() - 1] ^= 1;
  bundle_test::write_file(src.sub(second.data_ref), bytes);
  EXPECT_THROW(rb::fetch_bundle(server.url(), dst.sub("m"), options()), rb::IntegrityError);
  EXPECT_EQ(rb::verify_bundle_or_throw(dst.sub("m")), published);
  for (const std::string& name : bundle_test::list_dir(dst.sub("m")))
    EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;

  // Over the size limit, and missing files (404): clear errors, mirror intact.
  publish(src.path(), 3, 4);
  o = options();
  o.max_bytes = 40;
  EXPECT_THROW(rb::fetch_bundle(server.url(), dst.sub("m"), o), rb::FetchError);
  std::filesystem::remove(src.sub("table.rulake.json"));
  try {
    rb::fetch_bundle(server.url(), dst.sub("m"), options());
    FAIL() << "expected a FetchError";
  } catch (const rb::FetchError& e) {
    EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
  }
  EXPECT_EQ(rb::verify_bundle_or_throw(dst.sub("m")), published);
}
