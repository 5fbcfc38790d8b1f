// The a2a dispatch worker: started with the server when ruvector is preloaded, connected to
// a2a.database. It claims committed tasks, drives them all at once through one
// a2a::Dispatcher (src/a2a), and records each update through a2a._record in its own short
// transaction, which also NOTIFYs channel a2a. After a restart it follows the tasks the
// peers already have (a2a._resume). The Dispatcher is a C++ object owned by run(): every
// Postgres call from there goes through pg_call, so an ERROR arrives as an exception and
// unwinds it properly; the postmaster restarts the worker if run() fails.
#include "extension/a2a/a2a.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "a2a/dispatcher.h"
#include "extension/bgworker.h"
#include "extension/boundary.h"
#include "util/json_parse.h"

extern "C" {
#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void a2a_worker_main(Datum);
}

namespace ruvector::pg::a2a {

namespace {

namespace core = ::ruvector::a2a;
using Clock = std::chrono::steady_clock;

constexpr auto kCancelGrace = std::chrono::seconds(5);

// One row of _claim, _resume or _due, copied out of SPI into the worker's context.
struct Row {
  char* what;
  char* id;
  char* rpc_url;
  char* version;
  bool streaming;
  char* message;
  char* remote;
  char* headers;  // newline-separated
};

struct Rows {
  Row* rows;
  int n;
};

char* value(HeapTuple tuple, TupleDesc desc, int col) {
  char* v = SPI_getvalue(tuple, desc, col);
  return v == nullptr ? nullptr : MemoryContextStrdup(TopMemoryContext, v);
}

// Whether a query's rows start with a "what" column before the columns of _claim.
enum class WhatColumn { kAbsent, kFirst };

// Runs `sql` in its own transaction and returns its rows, with the columns of _claim,
// after a "what" column where it has one. Postgres code only.
Rows fetch_rows(const char* sql, WhatColumn what) {
  Rows r{nullptr, 0};
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  SPI_execute(sql, false, 0);
  r.n = static_cast<int>(SPI_processed);
  r.rows = static_cast<Row*>(MemoryContextAllocZero(TopMemoryContext, sizeof(Row) * (r.n + 1)));
  int off = what == WhatColumn::kFirst ? 1 : 0;
  for (int i = 0; i < r.n; i++) {
    HeapTuple t = SPI_tuptable->vals[i];
    TupleDesc d = SPI_tuptable->tupdesc;
    Row& row = r.rows[i];
    row.what = what == WhatColumn::kFirst ? value(t, d, 1) : nullptr;
    row.id = value(t, d, off + 1);
    if (d->natts > off + 1) {
      row.rpc_url = value(t, d, off + 2);
      row.version = value(t, d, off + 3);
      char* s = SPI_getvalue(t, d, off + 4);
      row.streaming = s != nullptr && s[0] == 't';
      row.message = value(t, d, off + 5);
      row.remote = value(t, d, off + 6);
      row.headers = value(t, d, off + 7);
    }
  }
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  return r;
}

void free_rows(Rows r) {
  for (int i = 0; i < r.n; i++) {
    for (char* p : {r.rows[i].what, r.rows[i].id, r.rows[i].rpc_url, r.rows[i].version,
                    r.rows[i].message, r.rows[i].remote, r.rows[i].headers}) {
      if (p != nullptr) pfree(p);
    }
  }
  if (r.rows != nullptr) pfree(r.rows);
}

// a2a._record(...) in its own transaction. Postgres code only; null arguments allowed.
void record_event(const char* const* params) {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  Oid types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
  Datum args[7];
  char nulls[8] = "       ";
  for (int i = 0; i < 7; i++) {
    if (params[i] == nullptr) {
      nulls[i] = 'n';
      args[i] = 0;
    } else {
      args[i] = CStringGetTextDatum(params[i]);
    }
  }
  SPI_execute_with_args("SELECT a2a._record($1::uuid, $2, $3, $4::jsonb, $5, $6, $7)", 7, types,
                        args, nulls, false, 0);
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
}

// Whether this database has the a2a catalog (ruvector may be missing or older here).
bool catalog_present() {
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  SPI_execute("SELECT 1 WHERE to_regprocedure('a2a._claim(integer)') IS NOT NULL", true, 1);
  bool present = SPI_processed == 1;
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
  return present;
}

std::string str(const char* p) { return p == nullptr ? std::string() : std::string(p); }

core::TaskSpec spec_of(const Row& row) {
  core::TaskSpec s;
  s.id = str(row.id);
  s.rpc_url = str(row.rpc_url);
  s.version = core::version_from_name(str(row.version));
  s.streaming = row.streaming;
  // Normalized again: a row written by hand must fail here with the reason, not inside
  // the dispatcher on a member it lacks.
  s.message = core::normalize_message(parse_json(str(row.message), "the task's message"));
  s.remote_task_id = str(row.remote);
  // text[] output: {"Authorization: Bearer x","..."}; parse the simple quoted form.
  std::string h = str(row.headers);
  if (h.size() >= 2 && h.front() == '{') {
    h = h.substr(1, h.size() - 2);
    std::string cur;
    bool quoted = false;
    for (std::size_t i = 0; i < h.size(); i++) {
      char c = h[i];
      if (c == '"') {
        quoted = !quoted;
      } else if (c == '\\' && i + 1 < h.size()) {
        cur += h[++i];
      } else if (c == ',' && !quoted) {
        s.headers.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) s.headers.push_back(cur);
  }
  return s;
}

// Runs a transaction body; on an error, aborts the transaction, logs and goes on. The
// error's message is left in *error when asked for.
template <typename Fn>
bool in_transaction(const char* what, Fn&& fn, std::string* error = nullptr) {
  try {
    pg_call([&] { fn(); });
    return true;
  } catch (const PgError& e) {
    std::string message = e.what();
    if (error != nullptr) *error = message;
    pg_call([&] {
      AbortCurrentTransaction();
      MemoryContextSwitchTo(TopMemoryContext);
      ereport(LOG, (errmsg("a2a dispatch worker: %s failed: %s", what, message.c_str())));
    });
    return false;
  }
}

// Records an event. An update that cannot be stored (jsonb refuses it, a value is out of
// range) fails its task at once with the reason, instead of leaving it in flight until its
// deadline; returns false then, so that the caller stops following the task.
bool store(const core::Event& e) {
  std::string kind, state, payload, remote, context, reason;
  const char* p[7] = {e.task_id.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  switch (e.type) {
    case core::Event::Type::kUpdate:
      kind = core::kind_name(e.update.kind);
      payload = e.update.payload.dump();
      p[1] = kind.c_str();
      if (e.update.state != core::TaskState::kUnknown) {
        state = core::state_name(e.update.state);
        p[2] = state.c_str();
      }
      p[3] = payload.c_str();
      if (!e.update.task_id.empty()) p[4] = e.update.task_id.c_str();
      if (!e.update.context_id.empty()) p[5] = e.update.context_id.c_str();
      break;
    case core::Event::Type::kFailed:
    case core::Event::Type::kRetry:
      p[1] = e.type == core::Event::Type::kFailed ? "failed" : "retry";
      reason = e.reason;
      p[6] = reason.c_str();
      break;
  }
  std::string error;
  if (in_transaction(
          "recording an event", [&] { record_event(p); }, &error))
    return true;
  if (e.type != core::Event::Type::kUpdate) return false;
  std::string why = "could not store the agent's answer: " + error;
  const char* failed[7] = {e.task_id.c_str(), "failed", nullptr,    nullptr,
                           nullptr,           nullptr,  why.c_str()};
  in_transaction("failing a task", [&] { record_event(failed); });
  return false;
}

// A row the worker cannot turn into a task (a message that is not JSON, written by hand)
// fails that task with the reason instead of stopping the worker.
void start_or_fail(core::Dispatcher& dispatcher, const Row& row) {
  try {
    dispatcher.start(spec_of(row));
  } catch (const std::exception& e) {
    core::Event ev;
    ev.type = core::Event::Type::kFailed;
    ev.task_id = str(row.id);
    ev.reason = std::string("could not start the task: ") + e.what();
    store(ev);
  }
}

core::DispatcherOptions dispatcher_options() {
  core::DispatcherOptions o;
  o.allowed_hosts = http::parse_host_list(allowed_hosts == nullptr ? "" : allowed_hosts);
  o.limits.connect_timeout_ms = connect_timeout_ms;
  o.limits.total_timeout_ms = 60000;
  o.max_event_bytes = static_cast<std::size_t>(max_response_kb) * 1024;
  // A stream carries many events; an endless one still ends at this many bytes.
  o.limits.max_bytes = static_cast<std::uint64_t>(max_response_kb) * 1024 * 64;
  o.poll_interval = std::chrono::milliseconds(poll_interval_ms);
  o.max_events = static_cast<std::size_t>(max_events_per_task);
  return o;
}

void run() {
  auto dispatcher = std::make_unique<core::Dispatcher>(dispatcher_options());
  bool resumed = false;
  bool present = false;
  std::map<std::string, Clock::time_point> finishing;  // task id -> when we asked to cancel
  for (;;) {
    bool reload = false;
    // With tasks running, pump() below does the waiting (on the network).
    long wait_ms = dispatcher->size() > 0 ? 0 : 200;
    pg_call([&] { reload = wait_for_work(wait_ms); });
    if (reload && dispatcher->size() == 0)
      dispatcher = std::make_unique<core::Dispatcher>(dispatcher_options());

    if (!present) {
      in_transaction("looking for the a2a catalog", [&] { present = catalog_present(); });
      if (!present) {
        pg_call([] { pg_usleep(1000 * 1000L); });
        continue;
      }
    }

    // Start what is due: after a restart the tasks peers already have, then new ones.
    Rows rows{nullptr, 0};
    if (!resumed) {
      resumed = in_transaction("resuming tasks", [&] {
        rows = fetch_rows("SELECT * FROM a2a._resume()", WhatColumn::kAbsent);
      });
    }
    Rows claimed{nullptr, 0};
    bool ok = in_transaction("claiming tasks", [&] {
      claimed = fetch_rows("SELECT * FROM a2a._claim(32)", WhatColumn::kAbsent);
    });
    if (!ok) present = false;  // dropped extension, perhaps: look again
    for (Rows* r : {&rows, &claimed}) {
      for (int i = 0; i < r->n; i++) start_or_fail(*dispatcher, r->rows[i]);
      pg_call([&] { free_rows(*r); });
    }

    // Cancels and deadlines.
    Rows due{nullptr, 0};
    in_transaction("checking cancels and deadlines",
                   [&] { due = fetch_rows("SELECT * FROM a2a._due()", WhatColumn::kFirst); });
    for (int i = 0; i < due.n; i++) {
      std::string id = str(due.rows[i].id);
      if (!dispatcher->active(id) && str(due.rows[i].what) == "cancel") {
        start_or_fail(*dispatcher, due.rows[i]);  // follow it (polling) to cancel it
      }
      dispatcher->cancel(id);
      if (str(due.rows[i].what) == "expired") finishing.emplace(id, Clock::now());
    }
    pg_call([&] { free_rows(due); });
    for (auto it = finishing.begin(); it != finishing.end();) {
      if (!dispatcher->active(it->first) || Clock::now() - it->second > kCancelGrace) {
        dispatcher->abandon(it->first);
        it = finishing.erase(it);
      } else {
        ++it;
      }
    }

    if (dispatcher->size() == 0) continue;
    for (const core::Event& e : dispatcher->pump(std::chrono::milliseconds(100))) {
      if (!store(e)) dispatcher->abandon(e.task_id);
    }
  }
}

}  // namespace

void register_worker() { register_database_worker("a2a_worker_main", "a2a dispatch worker", 5); }

}  // namespace ruvector::pg::a2a

void a2a_worker_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(ruvector::pg::a2a::worker_database, nullptr, 0);
  pgstat_report_activity(STATE_RUNNING, "dispatching A2A tasks");
  ruvector::pg::guard([] { ruvector::pg::a2a::run(); });
}
