// A2A dispatch in the server: settings, the SQL helpers, and the dispatch worker
// (docs/a2a.md). The protocol itself lives in src/a2a.
#pragma once

#include "extension/pg_wrapper.h"

namespace ruvector::pg::a2a {

extern char* worker_database;
extern char* allowed_hosts;
extern bool require_signed;
extern int max_depth;
extern int max_in_flight;
extern int max_in_flight_per_role;
extern int max_tasks_per_minute_per_role;
extern int max_tasks_per_minute;
extern int task_timeout_s;
extern int max_retries;
extern int retry_backoff_ms;
extern int poll_interval_ms;
extern int connect_timeout_ms;
extern int max_response_kb;
extern int max_events_per_task;

// The endpoint serving the database's own skills (a2a_endpoint.cpp); port 0 is off.
extern int endpoint_port;
extern char* listen_address;
extern char* endpoint_url;
extern int endpoint_statement_timeout_ms;
extern int endpoint_max_request_kb;
extern int endpoint_max_k;
extern int endpoint_client_timeout_ms;
extern int endpoint_max_connections;

void init_gucs();
void register_worker();
// Registers the endpoint worker when a2a.endpoint_port is set.
void register_endpoint_worker();

}  // namespace ruvector::pg::a2a
