// See http_server.h. A connection past its deadline is closed (with 408 when it was in the
// middle of a request); a refused request is answered, then the socket is shut for writing
// and drained briefly, so that the client reads the answer instead of a reset.
#include "a2a/http_server.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace ruvector::a2a {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDrainTime = std::chrono::milliseconds(1000);

}  // namespace

struct HttpServer::Connection {
  Connection(int fd_in, const endpoint::Limits& limits) : fd(fd_in), parser(limits) {}
  ~Connection() { ::close(fd); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd;
  endpoint::RequestParser parser;
  std::string out;
  std::size_t sent = 0;
  Clock::time_point deadline;
  bool closing = false;   // no more requests: close once `out` is sent
  bool draining = false;  // shut for writing; reading until the client closes
  bool dead = false;
};

HttpServer::HttpServer(const ServerOptions& options) : options_(options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string where = options.address + " port " + std::to_string(options.port);
  int rc =
      ::getaddrinfo(options.address.c_str(), std::to_string(options.port).c_str(), &hints, &found);
  if (rc != 0) fail(ErrorKind::kIo, "could not resolve " + where + ": " + gai_strerror(rc));
  std::string error;
  for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) fail(ErrorKind::kIo, "could not listen on " + where + ": " + error);
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  char port[16] = "";
  ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, nullptr, 0, port, sizeof(port),
                NI_NUMERICSERV);
  port_ = std::atoi(port);
}

HttpServer::~HttpServer() {
  connections_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void HttpServer::set_options(const ServerOptions& options) {
  options_.max_connections = options.max_connections;
  options_.client_timeout_ms = options.client_timeout_ms;
  options_.limits = options.limits;
  for (auto& c : connections_) c->parser.set_limits(options.limits);
}

void HttpServer::accept_all() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a connection gone before we took it
    if (connections_.size() >= static_cast<std::size_t>(options_.max_connections)) {
      endpoint::HttpResponse busy;
      busy.status = 503;
      busy.body = "{\"error\":\"too many connections: a2a.endpoint_max_connections\"}";
      std::string bytes = endpoint::serialize(busy, false);
      (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Connection>(fd, options_.limits);
    c->deadline = Clock::now() + std::chrono::milliseconds(options_.client_timeout_ms);
    connections_.push_back(std::move(c));
  }
}

void HttpServer::flush(Connection& c) {
  while (c.sent < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      c.dead = true;
      return;
    }
    c.sent += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.sent = 0;
  if (c.closing && !c.draining) {
    ::shutdown(c.fd, SHUT_WR);
    c.draining = true;
    c.deadline = std::min(c.deadline, Clock::now() + kDrainTime);
  }
}

void HttpServer::serve(Connection& c, const Handler& handler) {
  char buf[16384];
  auto state = endpoint::RequestParser::State::kIncomplete;
  for (;;) {
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n == 0) {
      c.dead = true;  // the client closed; nothing it asked for is pending
      return;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      c.dead = true;
      return;
    }
    if (c.draining) continue;
    state = c.parser.feed(buf, static_cast<std::size_t>(n));
    if (state != endpoint::RequestParser::State::kIncomplete) break;
  }
  while (!c.closing && state == endpoint::RequestParser::State::kComplete) {
    endpoint::HttpRequest request = c.parser.take();
    endpoint::HttpResponse response = handler(request);
    bool keep = request.keep_alive && !response.close;
    c.out += endpoint::serialize(response, keep);
    c.closing = !keep;
    c.deadline = Clock::now() + std::chrono::milliseconds(options_.client_timeout_ms);
    state = c.parser.feed(nullptr, 0);
  }
  if (!c.closing && state == endpoint::RequestParser::State::kIncomplete &&
      c.parser.take_continue()) {
    c.out += "HTTP/1.1 100 Continue\r\n\r\n";
  }
  if (!c.closing && state == endpoint::RequestParser::State::kFailed) {
    c.out += endpoint::serialize(c.parser.failure(), false);
    c.closing = true;
  }
  flush(c);
}

void HttpServer::poll_once(int timeout_ms, const Handler& handler) {
  auto now = Clock::now();
  std::vector<pollfd> fds;
  fds.push_back({listen_fd_, POLLIN, 0});
  for (auto& c : connections_) {
    short events = c->out.empty() ? POLLIN : POLLOUT;
    fds.push_back({c->fd, events, 0});
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c->deadline - now).count();
    timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, timeout_ms));
  }
  int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  if (ready < 0 && errno != EINTR) fail(ErrorKind::kIo, std::string("poll: ") + strerror(errno));
  for (std::size_t i = 1; ready > 0 && i < fds.size(); i++) {
    Connection& c = *connections_[i - 1];
    if (fds[i].revents & POLLOUT) flush(c);
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) serve(c, handler);
  }
  now = Clock::now();
  for (auto& c : connections_) {
    if (c->dead || now < c->deadline) continue;
    if (!c->closing && c->out.empty() && c->parser.has_partial_request()) {
      endpoint::HttpResponse late;
      late.status = 408;
      late.body = R"({"error":"the request did not arrive within a2a.endpoint_client_timeout"})";
      std::string bytes = endpoint::serialize(late, false);
      (void)!::send(c->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    c->dead = true;
  }
  connections_.erase(std::remove_if(connections_.begin(), connections_.end(),
                                    [](const auto& c) { return c->dead; }),
                     connections_.end());
  if (ready > 0 && (fds[0].revents & POLLIN)) accept_all();
}

}  // namespace ruvector::a2a
