// ruLake's settings. The cache's size and table length are fixed at server start (shared
// memory); paths and hosts are superuser-only because they reach the server's files and
// network.
#include "extension/rulake/rulake.h"

extern "C" {
#include "utils/guc.h"
}

namespace ruvector::pg::rulake {

int cache_size_mb = 256;
int max_collections = 256;
int max_collections_per_role = 32;
int refresh_interval_s = 60;
int reprime_window_s = 600;
double rebuild_threshold = 0.1;
int cold_wait_ms = 10000;
char* worker_database = nullptr;
char* bundle_root = nullptr;
char* allowed_hosts = nullptr;
int fetch_timeout_s = 60;
int max_fetch_mb = 1024;
int max_prime_memory_mb = 1024;

void init_gucs() {
  DefineCustomIntVariable("rulake.cache_size", "Shared memory for cached collection indexes.",
                          "Least recently used entries are evicted when it is full.",
                          &cache_size_mb, 256, 8, INT_MAX / 2, PGC_POSTMASTER, GUC_UNIT_MB, nullptr,
                          nullptr, nullptr);
  DefineCustomIntVariable(
      "rulake.max_collections", "Collections (and cache entries) ruLake tracks at once.", nullptr,
      &max_collections, 256, 1, 100000, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "rulake.max_collections_per_role", "Collections one role may register in a database.",
      "Superusers are exempt. Keeps one role from taking every slot of rulake.max_collections.",
      &max_collections_per_role, 32, 0, 100000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "rulake.refresh_interval", "How often eventual collections are checked against their source.",
      "Searches of an eventual collection compare it with its source at most this often; the "
      "refill worker refreshes it in the background and refetches remote bundles.",
      &refresh_interval_s, 60, 1, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "rulake.reprime_window",
      "How recently a collection must have been searched for the refill worker to re-prime it "
      "after an eviction.",
      "An evicted collection nobody searched within this window stays evicted until a search "
      "asks for it, so a cache smaller than the registered data does not thrash. 0: never "
      "re-prime in the background.",
      &reprime_window_s, 600, 0, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, nullptr, nullptr, nullptr);
  DefineCustomRealVariable(
      "rulake.rebuild_threshold",
      "Fraction of a table collection's rows that may change before its image is rebuilt.",
      "Below it, the writes since the image was primed are folded into an overlay searched "
      "with it; past it, the whole image is primed again. 0 primes again on every write.",
      &rebuild_threshold, 0.1, 0.0, 1.0, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "rulake.cold_wait",
      "How long a search waits for a remote bundle's fetch or another backend's build.",
      "0 raises an error at once when the bundle has not been fetched yet, and builds the "
      "image without waiting for a backend building it.",
      &cold_wait_ms, 10000, 0, 3600 * 1000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "rulake.database", "Database whose collections the refill worker serves.", nullptr,
      &worker_database, "postgres", PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "rulake.bundle_root", "Directory under which bundles are read and published.",
      "Empty disables server-side bundles. Paths outside it, \"..\" and escaping symlinks are "
      "refused.",
      &bundle_root, "", PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable("rulake.allowed_hosts",
                             "Hosts remote bundles may be fetched from, separated by commas.",
                             "Empty allows none; * allows any.", &allowed_hosts, "", PGC_SUSET, 0,
                             nullptr, nullptr, nullptr);
  DefineCustomIntVariable("rulake.fetch_timeout", "Time limit of one remote bundle download.",
                          nullptr, &fetch_timeout_s, 60, 1, 86400, PGC_SUSET, GUC_UNIT_S, nullptr,
                          nullptr, nullptr);
  // As large as the default priming bound: a bigger data file could not be primed anyway.
  DefineCustomIntVariable("rulake.max_fetch_size", "Largest remote file the worker downloads.",
                          nullptr, &max_fetch_mb, 1024, 1, INT_MAX / 2, PGC_SUSET, GUC_UNIT_MB,
                          nullptr, nullptr, nullptr);
  // Its own setting, not maintenance_work_mem: a session may raise that, and priming runs
  // in the refill worker and in any searching backend; 1 GB covers the default cache four
  // times over, and a server that raises rulake.cache_size past it raises this too.
  DefineCustomIntVariable(
      "rulake.max_prime_memory", "Most memory one prime of a collection may take.",
      "Priming reads the rows into the index image being built; a collection whose rows would "
      "take more is refused before they are read, or as soon as they pass the limit.",
      &max_prime_memory_mb, 1024, 1, INT_MAX / 2, PGC_SUSET, GUC_UNIT_MB, nullptr, nullptr,
      nullptr);
  MarkGUCPrefixReserved("rulake");
}

}  // namespace ruvector::pg::rulake
