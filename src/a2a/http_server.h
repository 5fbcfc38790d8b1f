// A small HTTP/1.1 server for the A2A endpoint: one thread, poll() over non-blocking
// sockets, each connection with a deadline, so a client that sends or reads slowly is cut
// off instead of holding the others. Requests are answered one at a time by the handler,
// inline: the endpoint's handler runs a query bounded by its statement timeout.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "a2a/endpoint.h"

namespace ruvector::a2a {

struct ServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal, or a host name
  int port = 0;                       // 0: any free port (tests)
  int max_connections = 64;           // more are answered 503 and closed
  // From a connection's accepting, or the end of its previous answer, to the end of the
  // next answer's sending: a request must arrive whole within it.
  int client_timeout_ms = 10000;
  endpoint::Limits limits;
};

class HttpServer {
 public:
  using Handler = std::function<endpoint::HttpResponse(const endpoint::HttpRequest&)>;

  // Binds and listens; throws ruvector::Error (kIo) naming the address on failure.
  explicit HttpServer(const ServerOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Waits up to timeout_ms for traffic, then accepts, reads, answers every complete
  // request through `handler`, writes, and closes connections past their deadline.
  void poll_once(int timeout_ms, const Handler& handler);

  int port() const { return port_; }
  std::size_t connections() const { return connections_.size(); }
  // New limits and timeout (SIGHUP); address and port stay.
  void set_options(const ServerOptions& options);

 private:
  struct Connection;
  void accept_all();
  void serve(Connection& c, const Handler& handler);
  void flush(Connection& c);

  ServerOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace ruvector::a2a
