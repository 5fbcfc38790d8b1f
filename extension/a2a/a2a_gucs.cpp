// A2A settings. Where the worker may connect, and the global budgets, are superuser-only;
// a session may lower nothing that protects others.
#include "extension/a2a/a2a.h"

extern "C" {
#include "utils/guc.h"
}

namespace ruvector::pg::a2a {

char* worker_database = nullptr;
char* allowed_hosts = nullptr;
bool require_signed = false;
int max_depth = 8;
int max_in_flight = 100;
int max_in_flight_per_role = 25;
int max_tasks_per_minute = 600;
int max_tasks_per_minute_per_role = 120;
int task_timeout_s = 300;
int max_retries = 3;
int retry_backoff_ms = 1000;
int poll_interval_ms = 500;
int connect_timeout_ms = 5000;
int max_response_kb = 1024;
int max_events_per_task = 1000;
int endpoint_port = 0;
char* listen_address = nullptr;
char* endpoint_url = nullptr;
int endpoint_statement_timeout_ms = 5000;
int endpoint_max_request_kb = 64;
int endpoint_max_k = 1000;
int endpoint_client_timeout_ms = 10000;
int endpoint_max_connections = 64;

namespace {
// Read by a2a.send through current_setting(); the C side never needs them, so they stay
// out of a2a.h.
int max_trace_tasks = 1000;
int max_trace_cost = 0;
}  // namespace

void init_gucs() {
  DefineCustomStringVariable("a2a.database", "Database whose tasks the a2a dispatch worker sends.",
                             nullptr, &worker_database, "postgres", PGC_POSTMASTER, 0, nullptr,
                             nullptr, nullptr);
  DefineCustomStringVariable(
      "a2a.allowed_hosts", "Hosts A2A agents may be reached at, separated by commas.",
      "Empty allows none; * allows any. Checked for every card fetch and every request.",
      &allowed_hosts, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "a2a.require_signed",
      "Whether register_agent refuses AgentCards without a trusted signature.",
      "A card whose signature by a trusted key fails is refused whatever this says.",
      &require_signed, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_depth", "Longest chain of agents calling agents.",
                          "a2a.send refuses a task whose depth would exceed it.", &max_depth, 8, 1,
                          1000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_in_flight", "Tasks not yet finished, over all agents.",
                          "a2a.send fails a task beyond it, with the reason.", &max_in_flight, 100,
                          1, 1000000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_in_flight_per_role", "Tasks not yet finished, per role.",
                          "a2a.send fails a role's task beyond it, with the reason, so that one "
                          "role cannot take all of a2a.max_in_flight.",
                          &max_in_flight_per_role, 25, 1, 1000000, PGC_SUSET, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("a2a.max_tasks_per_minute", "Tasks sent per minute, over all agents.",
                          "a2a.send fails a task beyond it, with the reason.",
                          &max_tasks_per_minute, 600, 1, 10000000, PGC_SUSET, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("a2a.max_tasks_per_minute_per_role", "Tasks sent per minute, per role.",
                          "a2a.send fails a role's task beyond it, with the reason, so that one "
                          "role cannot take all of a2a.max_tasks_per_minute.",
                          &max_tasks_per_minute_per_role, 120, 1, 10000000, PGC_SUSET, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("a2a.task_timeout", "Default time limit of a task.",
                          "A task still running after it is canceled at the peer and failed.",
                          &task_timeout_s, 300, 1, 86400 * 7, PGC_SUSET, GUC_UNIT_S, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_retries", "Sends retried after a transient failure.",
                          "Connection failures and HTTP 408, 429 and 5xx are retried with "
                          "exponential backoff; then the task fails with the reason.",
                          &max_retries, 3, 0, 100, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.retry_backoff", "Wait before the first retry; doubled each time.",
                          nullptr, &retry_backoff_ms, 1000, 1, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.poll_interval", "How often a task that is not streamed is polled.",
                          nullptr, &poll_interval_ms, 500, 10, 3600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.connect_timeout", "Time limit of connecting to an agent.", nullptr,
                          &connect_timeout_ms, 5000, 1, 600 * 1000, PGC_SIGHUP, GUC_UNIT_MS,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_response_size",
                          "Largest AgentCard, answer or stream event accepted from an agent.",
                          nullptr, &max_response_kb, 1024, 1, 1024 * 1024, PGC_SIGHUP, GUC_UNIT_KB,
                          nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.max_events_per_task", "Updates recorded for one task at most.",
                          "A task whose agent sends more fails with the reason.",
                          &max_events_per_task, 1000, 1, INT_MAX, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  // Depth bounds a chain, not a fan-out: an agent that delegates to many at each level
  // stays within a2a.max_depth. A trace's totals cap both.
  DefineCustomIntVariable("a2a.max_trace_tasks", "Tasks one trace may hold, at every depth.",
                          "a2a.send refuses a task that would take its trace past it.",
                          &max_trace_tasks, 1000, 1, INT_MAX, PGC_SUSET, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("a2a.max_trace_cost", "Cost units one trace may spend; 0 is no limit.",
                          "a2a.send refuses a task whose cost would take its trace past it.",
                          &max_trace_cost, 0, 0, INT_MAX, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  // The endpoint (docs/a2a.md): off unless a port is set; where it listens is fixed at
  // server start, its limits follow a reload.
  DefineCustomIntVariable("a2a.endpoint_port", "TCP port of the A2A endpoint; 0 turns it off.",
                          "The endpoint serves rulake.search to A2A clients with a bearer "
                          "token from a2a.create_endpoint_token.",
                          &endpoint_port, 0, 0, 65535, PGC_POSTMASTER, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomStringVariable("a2a.listen_address", "Address the A2A endpoint listens on.",
                             "Loopback by default. The endpoint speaks plain HTTP: for other "
                             "hosts, put a TLS proxy in front of it.",
                             &listen_address, "127.0.0.1", PGC_POSTMASTER, 0, nullptr, nullptr,
                             nullptr);
  DefineCustomStringVariable("a2a.endpoint_url", "URL of the A2A endpoint in its AgentCard.",
                             "Empty: http://<a2a.listen_address>:<a2a.endpoint_port>/. Set it to "
                             "the proxy's URL when clients reach the endpoint through one.",
                             &endpoint_url, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.endpoint_statement_timeout",
                          "Time limit of one skill call through the A2A endpoint.",
                          "The search is canceled past it and the client gets the error.",
                          &endpoint_statement_timeout_ms, 5000, 1, 3600 * 1000, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "a2a.endpoint_max_request_size", "Largest request body the A2A endpoint accepts.",
      "A larger one is answered 413 before it is read.", &endpoint_max_request_kb, 64, 1, 64 * 1024,
      PGC_SIGHUP, GUC_UNIT_KB, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.endpoint_max_k", "Largest k a client may ask the A2A endpoint for.",
                          nullptr, &endpoint_max_k, 1000, 1, 1000000, PGC_SIGHUP, 0, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable("a2a.endpoint_client_timeout",
                          "Time a client of the A2A endpoint has to send a request whole.",
                          "Also how long an idle kept-alive connection stays open. A slower "
                          "client is answered 408 and disconnected.",
                          &endpoint_client_timeout_ms, 10000, 100, 3600 * 1000, PGC_SIGHUP,
                          GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("a2a.endpoint_max_connections",
                          "Connections the A2A endpoint holds open at once.",
                          "More are answered 503 and closed.", &endpoint_max_connections, 64, 1,
                          10000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("a2a");
}

}  // namespace ruvector::pg::a2a
