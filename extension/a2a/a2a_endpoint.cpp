// The A2A endpoint worker (docs/a2a.md, "The A2A endpoint"): started with the server when
// a2a.endpoint_port is set, connected to a2a.database as the bootstrap superuser. It serves
// the AgentCard and A2A v1.0 JSON-RPC through src/a2a (HttpServer, endpoint::handle); this
// file is the Backend: a bearer token's role looked up by its SHA-256 in
// a2a.endpoint_tokens, and rulake.search run with parameters, as that role, under
// a2a.endpoint_statement_timeout, in a transaction of its own. The server and its
// connections are C++ objects owned by run(), so every Postgres call goes through pg_call.
#include "extension/a2a/a2a.h"

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "a2a/base64url.h"
#include "a2a/endpoint.h"
#include "a2a/http_server.h"
#include "extension/bgworker.h"
#include "extension/boundary.h"
#include "extension/user_switch.h"

extern "C" {
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

PGDLLEXPORT void a2a_endpoint_main(Datum);
}

namespace ruvector::pg::a2a {

namespace {

namespace ep = ::ruvector::a2a::endpoint;

// Holds what a request's transactions hand back to C++; reset after each request.
MemoryContext request_context = nullptr;

// The token and search queries, planned once and kept (SPI_keepplan), with the vector
// type the search plan takes. Forgotten after any failed request, so that a dropped and
// re-created extension is found again by the next one.
SPIPlanPtr token_plan = nullptr;
SPIPlanPtr search_plan = nullptr;
Oid vector_type = InvalidOid;

// Set when a type or function changes anywhere in the database (a syscache callback):
// the next request plans again rather than run a plan for a vector type that is gone.
bool plans_stale = false;

void on_catalog_change(Datum, int, uint32) { plans_stale = true; }

// Postgres code only.
void forget_plans() {
  if (token_plan != nullptr) SPI_freeplan(token_plan);
  if (search_plan != nullptr) SPI_freeplan(search_plan);
  token_plan = nullptr;
  search_plan = nullptr;
  vector_type = InvalidOid;
  plans_stale = false;
}

constexpr const char* kTokenQuery =
    "SELECT r.rolname FROM a2a.endpoint_tokens t JOIN pg_catalog.pg_roles r ON r.oid = t.role"
    " WHERE t.token_hash = pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8'))"
    " AND (t.expires IS NULL OR t.expires > pg_catalog.now()) AND r.rolcanlogin"
    " AND (r.rolvaliduntil IS NULL OR r.rolvaliduntil > pg_catalog.now())";

// rulake.search's query argument: the type ruvector, in whatever schema it was created.
constexpr const char* kQueryTypeQuery =
    "SELECT p.proargtypes[1] FROM pg_catalog.pg_proc p"
    " WHERE p.pronamespace = 'rulake'::regnamespace AND p.proname = 'search' AND p.pronargs = 4";

// Columns as bigint and real, printed by SPI with their output functions: the text
// `SELECT id, distance FROM rulake.search(...)` shows a client of the database.
constexpr const char* kSearchQuery = "SELECT s.id, s.distance FROM rulake.search($1, $2, $3) s";

struct TokenRow {
  bool catalog_present;
  char* role;  // null: no token matches
};

struct Rows {
  int n;
  char** ids;
  char** distances;
};

// Starting a transaction takes in the invalidations others sent, so plans_stale is
// current once it returns.
void begin_transaction() {
  SetCurrentStatementStartTimestamp();
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  SPI_connect();
  if (plans_stale) forget_plans();
}

void commit_transaction() {
  SPI_finish();
  PopActiveSnapshot();
  CommitTransactionCommand();
}

// Postgres code only. Under the statement timeout too: a lock on the token table must not
// stop the endpoint.
void lookup_token(const char* token, int timeout_ms, TokenRow* out) {
  begin_transaction();
  enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
  out->role = nullptr;
  out->catalog_present = true;
  if (token_plan == nullptr) {
    SPI_execute("SELECT to_regclass('a2a.endpoint_tokens') IS NOT NULL", true, 1);
    bool isnull = false;
    out->catalog_present =
        DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    if (out->catalog_present) {
      Oid types[1] = {TEXTOID};
      SPIPlanPtr plan = SPI_prepare(kTokenQuery, 1, types);
      if (plan == nullptr || SPI_keepplan(plan) != 0)
        elog(ERROR, "a2a endpoint: planning the token lookup failed");
      token_plan = plan;
    }
  }
  if (out->catalog_present) {
    Datum values[1] = {CStringGetTextDatum(token)};
    if (SPI_execute_plan(token_plan, values, nullptr, true, 1) != SPI_OK_SELECT)
      elog(ERROR, "a2a endpoint: reading a2a.endpoint_tokens failed");
    if (SPI_processed == 1) {
      out->role = MemoryContextStrdup(
          request_context, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
    }
  }
  disable_timeout(STATEMENT_TIMEOUT, false);
  commit_transaction();
}

// Postgres code only. Plans the search once, under the pinned search_path it runs with.
void plan_search() {
  if (SPI_execute(kQueryTypeQuery, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("rulake.search(text, ruvector, integer, integer) does not exist in "
                           "database \"%s\"",
                           get_database_name(MyDatabaseId))));
  bool isnull = false;
  Oid type =
      DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
  Oid types[3] = {TEXTOID, type, INT4OID};
  SPIPlanPtr plan = SPI_prepare(kSearchQuery, 3, types);
  if (plan == nullptr || SPI_keepplan(plan) != 0)
    elog(ERROR, "a2a endpoint: planning rulake.search failed");
  search_plan = plan;
  vector_type = type;
}

// Postgres code only. Runs the search as `role`, with search_path pinned so that nothing
// the role created can stand in for what the query names; the transaction's end (commit
// or abort) restores the user and the setting.
void run_search(const char* role, const char* collection, const char* query, int k, int timeout_ms,
                Rows* out) {
  begin_transaction();
  Oid role_oid = get_role_oid(role, false);
  (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                          GUC_ACTION_LOCAL, true, 0, false);
  if (search_plan == nullptr) plan_search();
  SavedUser saved = switch_user(role_oid);
  enable_timeout_after(STATEMENT_TIMEOUT, timeout_ms);
  Oid input, ioparam;
  getTypeInputInfo(vector_type, &input, &ioparam);
  Datum vector = OidInputFunctionCall(input, const_cast<char*>(query), ioparam, -1);
  Datum values[3] = {CStringGetTextDatum(collection), vector, Int32GetDatum(k)};
  if (SPI_execute_plan(search_plan, values, nullptr, false, 0) != SPI_OK_SELECT)
    elog(ERROR, "a2a endpoint: rulake.search failed");
  out->n = static_cast<int>(SPI_processed);
  out->ids = static_cast<char**>(MemoryContextAlloc(request_context, sizeof(char*) * (out->n + 1)));
  out->distances =
      static_cast<char**>(MemoryContextAlloc(request_context, sizeof(char*) * (out->n + 1)));
  // rulake.search returns no nulls; were it to, an empty string is no crash of the server.
  for (int i = 0; i < out->n; i++) {
    HeapTuple t = SPI_tuptable->vals[i];
    char* id = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);
    char* distance = SPI_getvalue(t, SPI_tuptable->tupdesc, 2);
    out->ids[i] = MemoryContextStrdup(request_context, id != nullptr ? id : "");
    out->distances[i] = MemoryContextStrdup(request_context, distance != nullptr ? distance : "");
  }
  disable_timeout(STATEMENT_TIMEOUT, false);
  restore_user(saved);
  commit_transaction();
}

// After a failed transaction body: what PostgresMain does after an error, for the one
// timeout we set (a cancel that fired as the query ended must not hit the next request).
void abort_request() {
  disable_timeout(STATEMENT_TIMEOUT, false);
  QueryCancelPending = false;
  AbortCurrentTransaction();
  MemoryContextSwitchTo(TopMemoryContext);
}

struct Failure {
  std::string sqlstate;
  std::string message;
};

Failure take_failure(const PgError& e) {
  Failure f;
  f.sqlstate = unpack_sql_state(e.edata()->sqlerrcode);
  f.message = e.edata()->message != nullptr ? e.edata()->message : "unknown error";
  ErrorData* edata = e.edata();
  pg_call([&] {
    abort_request();
    forget_plans();
    FreeErrorData(edata);
  });
  return f;
}

class PgBackend : public ep::Backend {
 public:
  ep::AuthResult authenticate(const std::string& token) override {
    ep::AuthResult r;
    TokenRow row{false, nullptr};
    try {
      pg_call([&] { lookup_token(token.c_str(), endpoint_statement_timeout_ms, &row); });
    } catch (const PgError& e) {
      Failure f = take_failure(e);
      r.status = ep::AuthResult::Status::kUnavailable;
      r.message = "could not check the token: " + f.message;
      return r;
    }
    if (!row.catalog_present) {
      r.status = ep::AuthResult::Status::kUnavailable;
      r.message = "ruvector 0.5.0 or later is not installed in a2a.database";
    } else if (row.role != nullptr) {
      r.status = ep::AuthResult::Status::kOk;
      r.role = row.role;
    }
    return r;
  }

  ep::SearchResult search(const std::string& role, const ep::SearchCall& call) override {
    ep::SearchResult result;
    Rows rows{0, nullptr, nullptr};
    std::string activity = "rulake.search of \"" + call.collection + "\" for role " + role;
    try {
      pg_call([&] {
        pgstat_report_activity(STATE_RUNNING, activity.c_str());
        run_search(role.c_str(), call.collection.c_str(), call.query.c_str(), call.k,
                   endpoint_statement_timeout_ms, &rows);
        pgstat_report_activity(STATE_IDLE, nullptr);
      });
    } catch (const PgError& e) {
      Failure f = take_failure(e);
      result.sqlstate = f.sqlstate;
      result.message = f.message;
      pg_call([&] {
        pgstat_report_activity(STATE_IDLE, nullptr);
        ereport(LOG, (errmsg("a2a endpoint: %s failed: %s", activity.c_str(), f.message.c_str())));
      });
      return result;
    }
    for (int i = 0; i < rows.n; i++) result.rows.push_back({rows.ids[i], rows.distances[i]});
    result.ok = true;
    return result;
  }
};

// ruvector's installed version for the card, or "" when it is not installed here.
std::string installed_version() {
  char* v = nullptr;
  try {
    pg_call([&] {
      begin_transaction();
      SPI_execute("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'ruvector'", true,
                  1);
      if (SPI_processed == 1)
        v = MemoryContextStrdup(request_context,
                                SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
      commit_transaction();
    });
  } catch (const PgError& e) {
    take_failure(e);
  }
  return v == nullptr ? std::string() : std::string(v);
}

::ruvector::a2a::ServerOptions server_options() {
  ::ruvector::a2a::ServerOptions o;
  o.address = listen_address == nullptr ? "127.0.0.1" : listen_address;
  o.port = endpoint_port;
  o.max_connections = endpoint_max_connections;
  o.client_timeout_ms = endpoint_client_timeout_ms;
  o.limits.max_body_bytes = static_cast<std::size_t>(endpoint_max_request_kb) * 1024;
  o.limits.max_k = endpoint_max_k;
  return o;
}

std::string card_url(int port) {
  if (endpoint_url != nullptr && endpoint_url[0] != '\0') return endpoint_url;
  std::string host = listen_address == nullptr ? "127.0.0.1" : listen_address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port) + "/";
}

void run() {
  request_context = pg_call([] {
    CacheRegisterSyscacheCallback(TYPEOID, on_catalog_change, 0);
    CacheRegisterSyscacheCallback(PROCOID, on_catalog_change, 0);
    return AllocSetContextCreate(TopMemoryContext, "a2a endpoint request", ALLOCSET_DEFAULT_SIZES);
  });
  ::ruvector::a2a::ServerOptions options = server_options();
  auto server = std::make_unique<::ruvector::a2a::HttpServer>(options);
  pg_call([&] {
    ereport(LOG, (errmsg("a2a endpoint listening on %s port %d", options.address.c_str(),
                         server->port())));
  });
  PgBackend backend;
  ep::CardSettings card{card_url(server->port()), std::string()};
  auto handler = [&](const ep::HttpRequest& request) {
    ep::HttpResponse response;
    try {
      if (request.method == "GET") card.version = installed_version();
      response = ep::handle(request, backend, card, options.limits);
    } catch (const PgError&) {
      throw;  // the transaction must abort: the worker restarts
    } catch (const std::exception& e) {
      response = ep::HttpResponse();
      response.status = 500;
      response.body = nlohmann::json({{"error", e.what()}})
                          .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    pg_call([] { MemoryContextReset(request_context); });
    return response;
  };
  for (;;) {
    bool reload = false;
    pg_call([&] { reload = wait_for_work(0); });
    if (reload) {
      options = server_options();
      server->set_options(options);
      card.url = card_url(server->port());
    }
    server->poll_once(200, handler);
  }
}

}  // namespace

void register_endpoint_worker() {
  if (endpoint_port == 0) return;
  register_database_worker("a2a_endpoint_main", "a2a endpoint", 5);
}

}  // namespace ruvector::pg::a2a

// a2a._random_token(): 32 bytes from the operating system's secure source, base64url.
RUVECTOR_FUNCTION(a2a_random_token) {
  unsigned char bytes[32];
  if (!pg_strong_random(bytes, sizeof(bytes)))
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes")));
  std::string token = ::ruvector::a2a::base64url_encode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
  return ruvector::pg::pg_call([&] { return PointerGetDatum(cstring_to_text(token.c_str())); });
}

void a2a_endpoint_main(Datum) {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(ruvector::pg::a2a::worker_database, nullptr, 0);
  pgstat_report_activity(STATE_IDLE, nullptr);
  ruvector::pg::guard([] { ruvector::pg::a2a::run(); });
}
