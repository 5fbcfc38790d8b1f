// See rulake_fetch.h. The refill worker claims a FetchSlot in shared memory (at most
// kMaxFetches, never two for one URL, since a URL is a mirror) and starts a dynamic worker
// on it. The worker downloads with bundle::fetch_bundle, records the outcome in the
// collection's state (a failure backs off, a success resets the count and asks for a
// prime), wakes the refill worker and exits; its exit frees the slot, SIGTERM included.
#include "extension/rulake/rulake_fetch.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <exception>

#include "bundle/http_fetch.h"
#include "extension/bgworker.h"
#include "extension/boundary.h"

extern "C" {
#include "common/file_perm.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "utils/timestamp.h"
}

namespace ruvector::pg::rulake {

namespace {

// A slot claimed this long ago whose worker never reported its pid never started.
constexpr long kStartTimeoutMs = 60 * 1000;

// The refill worker's handles of the fetch workers it started, by slot.
BackgroundWorkerHandle* handles[kMaxFetches];

// Lock held.
void free_slot(FetchSlot* slot) { memset(slot, 0, sizeof(*slot)); }

// A fetch worker's exit, whatever ends it: bgworker_die raises FATAL from the signal
// handler, possibly while this process holds the lock.
void free_own_slot(int, Datum arg) {
  RulakeShared* s = shared();
  if (!LWLockHeldByMe(s->lock)) LWLockAcquire(s->lock, LW_EXCLUSIVE);
  FetchSlot* slot = &s->fetches[DatumGetInt32(arg)];
  if (slot->used && slot->pid == MyProcPid) free_slot(slot);
  LWLockRelease(s->lock);
}

// Fetches `url` into its mirror; false with the reason in `error` when it failed.
bool fetch_mirror(const char* url, bool* changed, char* error, Size error_size) {
  char* dir = remote_mirror_dir(url);
  char* parent = pstrdup(dir);
  get_parent_directory(parent);  // fetch_bundle creates the mirror itself, durably
  if (pg_mkdir_p(parent, pg_dir_create_mode) != 0 && errno != EEXIST) {
    snprintf(error, error_size, "could not create directory \"%s\": %s", parent, strerror(errno));
    return false;
  }
  const char* hosts = allowed_hosts == nullptr ? "" : allowed_hosts;
  long timeout_ms = static_cast<long>(fetch_timeout_s) * 1000;
  uint64 max_bytes = static_cast<uint64>(max_fetch_mb) * 1024 * 1024;
  return guard([&] {
    try {
      bundle::FetchOptions options;
      options.allowed_hosts = bundle::parse_host_list(hosts);
      options.total_timeout_ms = timeout_ms;
      options.max_bytes = max_bytes;
      *changed = bundle::fetch_bundle(url, dir, options).changed;
      return true;
    } catch (const std::exception& e) {
      // The reason is recorded, not raised: the worker's job is to report it.
      strlcpy(error, e.what(), error_size);
      return false;
    }
  });
}

// What a fetch ended with, for the collection that asked (if it is still registered).
void record_fetch(const char* name, bool ok, bool changed, const char* error) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* state = find_collection(name, IfAbsent::kNull);
  if (state != nullptr && ok) {
    if (state->fetch_failures > 0) state->last_error[0] = '\0';
    state->fetch_failures = 0;
    state->fetch_retry_at = 0;
    if (changed) state->fetched = true;
  } else if (state != nullptr) {
    back_off(state, &state->fetch_failures, &state->fetch_retry_at, error);
    state->refill_wanted = false;
  }
  LWLockRelease(s->lock);
  if (!ok) ereport(LOG, (errmsg("rulake fetch of collection \"%s\" failed: %s", name, error)));
  wake_worker();
  ConditionVariableBroadcast(&s->changed);
}

bool process_gone(int pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

void start_fetch(const Collection& c) {
  if (strlen(c.location) >= kMaxUrlBytes) {
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("the URL of rulake collection \"%s\" is longer than %d bytes", c.name,
                           kMaxUrlBytes - 1)));
  }
  RulakeShared* s = shared();
  int slot = -1;
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxFetches; i++) {
    const FetchSlot& f = s->fetches[i];
    if (f.used && f.database == MyDatabaseId && strcmp(f.url, c.location) == 0) {
      LWLockRelease(s->lock);  // the mirror is being fetched already
      return;
    }
    if (!f.used && slot < 0) slot = i;
  }
  if (slot < 0) {
    LWLockRelease(s->lock);
    return;
  }
  FetchSlot* f = &s->fetches[slot];
  f->used = true;
  f->database = MyDatabaseId;
  namestrcpy(&f->collection, c.name);
  strlcpy(f->url, c.location, sizeof(f->url));
  f->pid = 0;
  f->claimed = GetCurrentTimestamp();
  CollectionState* state = find_collection(c.name, IfAbsent::kCreate);
  state->refill_wanted = false;
  state->last_fetched = f->claimed;
  LWLockRelease(s->lock);

  BackgroundWorker worker =
      database_worker("rulake_fetch_main", "rulake fetch worker", BGW_NEVER_RESTART);
  snprintf(worker.bgw_name, BGW_MAXLEN, "rulake fetch of collection %s", c.name);
  worker.bgw_main_arg = Int32GetDatum(slot);
  worker.bgw_notify_pid = MyProcPid;  // the postmaster wakes us when it starts and ends
  if (handles[slot] != nullptr) pfree(handles[slot]);
  handles[slot] = nullptr;
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  bool started = RegisterDynamicBackgroundWorker(&worker, &handles[slot]);
  MemoryContextSwitchTo(old);
  if (!started) {
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    free_slot(f);
    LWLockRelease(s->lock);
    note_failure(c.name,
                 "could not start a fetch worker: every background worker slot is in use "
                 "(max_worker_processes); the next cycle tries again");
  }
}

void reap_fetches() {
  RulakeShared* s = shared();
  for (int i = 0; i < kMaxFetches; i++) {
    bool stopped = false;
    if (handles[i] != nullptr) {
      pid_t pid;
      stopped = GetBackgroundWorkerPid(handles[i], &pid) == BGWH_STOPPED;
      if (stopped) {
        pfree(handles[i]);
        handles[i] = nullptr;
      }
    }
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    FetchSlot* f = &s->fetches[i];
    // Without a handle (a refill worker before this one started it), judge by the pid.
    bool stale =
        f->used && f->database == MyDatabaseId &&
        (stopped || (handles[i] == nullptr &&
                     (f->pid != 0 ? process_gone(f->pid)
                                  : TimestampDifferenceExceeds(f->claimed, GetCurrentTimestamp(),
                                                               kStartTimeoutMs))));
    NameData name = f->collection;
    if (stale) free_slot(f);
    LWLockRelease(s->lock);
    if (stale) note_failure(NameStr(name), "the fetch worker ended without a result");
  }
}

void remove_unused_mirrors(char** urls, int n) {
  RulakeShared* s = shared();
  int kept = 0;
  char** keep = static_cast<char**>(palloc(sizeof(char*) * (n + kMaxFetches)));
  for (int i = 0; i < n; i++) keep[kept++] = remote_mirror_dir(urls[i]);
  char url[kMaxUrlBytes];
  for (int i = 0; i < kMaxFetches; i++) {
    LWLockAcquire(s->lock, LW_SHARED);
    bool used = s->fetches[i].used;
    strlcpy(url, s->fetches[i].url, sizeof(url));
    LWLockRelease(s->lock);
    if (used) keep[kept++] = remote_mirror_dir(url);
  }
  char* root = psprintf("%s/pg_rulake/remote", DataDir);
  DIR* dir = AllocateDir(root);
  if (dir == nullptr && errno == ENOENT) return;  // nothing fetched yet
  struct dirent* entry;
  while ((entry = ReadDir(dir, root)) != nullptr) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    char* path = psprintf("%s/%s", root, entry->d_name);
    bool wanted = false;
    for (int i = 0; i < kept && !wanted; i++) wanted = strcmp(keep[i], path) == 0;
    if (!wanted) {
      if (rmtree(path, true)) {
        ereport(LOG, (errmsg("rulake: removed mirror \"%s\", which no collection uses", path)));
      } else {
        ereport(WARNING, (errmsg("rulake: could not remove unused mirror \"%s\"", path)));
      }
    }
    pfree(path);
  }
  FreeDir(dir);
}

}  // namespace ruvector::pg::rulake

using namespace ruvector::pg::rulake;

void rulake_fetch_main(Datum arg) {
  // SIGTERM keeps bgworker_die, which ends the process even inside a transfer; the exit
  // callback frees the slot, and a later fetch cleans up the temp file left behind.
  BackgroundWorkerUnblockSignals();
  RulakeShared* s = shared();
  int slot = DatumGetInt32(arg);
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  FetchSlot job = s->fetches[slot];
  if (job.used) s->fetches[slot].pid = MyProcPid;
  LWLockRelease(s->lock);
  if (!job.used) proc_exit(0);  // reaped as stale before it started
  before_shmem_exit(free_own_slot, arg);
  BackgroundWorkerInitializeConnectionByOid(job.database, InvalidOid, 0);
  char* activity = psprintf("fetching collection %s", NameStr(job.collection));
  pgstat_report_activity(STATE_RUNNING, activity);
  char error[512] = "";
  bool changed = false;
  bool ok = fetch_mirror(job.url, &changed, error, sizeof(error));
  record_fetch(NameStr(job.collection), ok, changed, error);
  pgstat_report_activity(STATE_IDLE, nullptr);
  proc_exit(0);
}
