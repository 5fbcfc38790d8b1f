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

void init_gucs();
void register_worker();

}  // namespace ruvector::pg::a2a
