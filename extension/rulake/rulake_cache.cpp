// ruLake's shared memory: the entry and collection tables and the DSA area that holds the
// index images. The area is created in place inside the main shared memory segment with a
// size limit equal to its size, so the cache never grows past rulake.cache_size and needs
// no dynamic shared memory segments (which the postmaster cannot create).
#include "extension/rulake/rulake.h"

#include <algorithm>
#include <cstring>

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
}

namespace ruvector::pg::rulake {

namespace {

RulakeShared* state = nullptr;
dsa_area* dsa = nullptr;  // this backend's attachment, in TopMemoryContext
shmem_startup_hook_type prev_startup_hook = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;

Size dsa_size() { return static_cast<Size>(cache_size_mb) * 1024 * 1024; }

Size shared_size() {
  Size size = MAXALIGN(sizeof(RulakeShared));
  size = add_size(size, MAXALIGN(mul_size(sizeof(CacheEntry), max_collections)));
  size = add_size(size, MAXALIGN(mul_size(sizeof(CollectionState), max_collections)));
  return add_size(size, dsa_size());
}

void request_shmem() {
  if (prev_request_hook) prev_request_hook();
  RequestAddinShmemSpace(shared_size());
  RequestNamedLWLockTranche("rulake", 1);
}

// A free slot. The atomics are initialised, not just zeroed (they need not be plain words).
void clear_entry(CacheEntry* e) {
  memset(e, 0, sizeof(*e));
  e->base = -1;
  pg_atomic_init_u32(&e->pins, 0);
  pg_atomic_init_u64(&e->last_used, 0);
}

void clear_state(CollectionState* c) {
  memset(c, 0, sizeof(*c));
  pg_atomic_init_u64(&c->hits, 0);
  pg_atomic_init_u64(&c->misses, 0);
  pg_atomic_init_u64(&c->deltas, 0);
  pg_atomic_init_u64(&c->last_searched, 0);
  pg_atomic_init_u64(&c->searched_tick, 0);
}

void startup_shmem() {
  if (prev_startup_hook) prev_startup_hook();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  auto* s = static_cast<RulakeShared*>(ShmemInitStruct("ruvector rulake", shared_size(), &found));
  if (!found) {
    memset(s, 0, MAXALIGN(sizeof(RulakeShared)));
    char* p = reinterpret_cast<char*>(s) + MAXALIGN(sizeof(RulakeShared));
    s->capacity = max_collections;
    s->entries = reinterpret_cast<CacheEntry*>(p);
    p += MAXALIGN(sizeof(CacheEntry) * max_collections);
    s->collections = reinterpret_cast<CollectionState*>(p);
    p += MAXALIGN(sizeof(CollectionState) * max_collections);
    for (int i = 0; i < max_collections; i++) {
      clear_entry(&s->entries[i]);
      clear_state(&s->collections[i]);
    }
    pg_atomic_init_u64(&s->clock, 0);
    s->dsa_place = p;
    s->dsa_bytes = dsa_size();
    s->lock = &GetNamedLWLockTranche("rulake")[0].lock;
    s->dsa_tranche = LWLockNewTrancheId();
    ConditionVariableInit(&s->changed);
    dsa_area* a = dsa_create_in_place(s->dsa_place, s->dsa_bytes, s->dsa_tranche, nullptr);
    dsa_pin(a);
    dsa_set_size_limit(a, s->dsa_bytes);
    dsa_detach(a);
  }
  LWLockRelease(AddinShmemInitLock);
  state = s;
}

void release_pins_at_exit(int, Datum);
void release_pins_at_abort(XactEvent event, void*);
void release_pins_at_subabort(SubXactEvent event, SubTransactionId, SubTransactionId, void*);

uint32 pins_of(const CacheEntry& e) {
  return pg_atomic_read_u32(const_cast<pg_atomic_uint32*>(&e.pins));
}
uint64 last_used_of(const CacheEntry& e) {
  return pg_atomic_read_u64(const_cast<pg_atomic_uint64*>(&e.last_used));
}

bool dead_and_unpinned(const CacheEntry& e) { return e.used && e.dead && pins_of(e) == 0; }

void unpin_locked(int index);

// Frees an entry's image and its slot; an overlay lets go of its base. Lock held
// exclusively.
void free_entry(CacheEntry* e) {
  if (DsaPointerIsValid(e->image)) dsa_free(dsa, e->image);
  if (DsaPointerIsValid(e->snapshot)) dsa_free(dsa, e->snapshot);
  int base = e->base;
  clear_entry(e);
  if (base >= 0) unpin_locked(base);
}

// Marks entry i dead, and the overlays over it, freeing whichever nobody has pinned. Lock
// held exclusively.
void kill_entry(int i) {
  CacheEntry* e = &state->entries[i];
  e->dead = true;
  for (int j = 0; j < state->capacity; j++) {
    CacheEntry* o = &state->entries[j];
    if (o->used && !o->dead && o->base == i) kill_entry(j);
  }
  if (e->used && pins_of(*e) == 0) free_entry(e);
}

// Removes the least recently used live, unpinned entry; false when there is none.
// Lock held exclusively.
bool evict_one() {
  CacheEntry* victim = nullptr;
  for (int i = 0; i < state->capacity; i++) {
    CacheEntry* e = &state->entries[i];
    if (!e->used) continue;
    if (dead_and_unpinned(*e)) {
      free_entry(e);
      return true;
    }
    if (e->dead || pins_of(*e) > 0) continue;
    if (victim == nullptr || last_used_of(*e) < last_used_of(*victim)) victim = e;
  }
  if (victim == nullptr) return false;
  // Counted on every collection that was using the image (several may share one key), for
  // rulake.stats(): evictions that keep growing mean rulake.cache_size is too small.
  for (int i = 0; i < state->capacity; i++) {
    CollectionState* c = &state->collections[i];
    if (c->used && c->has_key && keys_equal(c->key, victim->key)) c->evictions++;
  }
  free_entry(victim);
  return true;
}

// Overlays kept per base: the newest serves searches of the latest snapshot, the few
// before it searches whose snapshots are a write or two older (another backend folded the
// next write in meanwhile), which would otherwise fold everything since the base again.
constexpr int kOverlaysPerBase = 4;

// Kills the least recently used overlays of `base` past kOverlaysPerBase. Lock held
// exclusively.
void retire_old_overlays(int base) {
  for (;;) {
    int n = 0;
    int oldest = -1;
    for (int i = 0; i < state->capacity; i++) {
      const CacheEntry& e = state->entries[i];
      if (!e.used || e.dead || e.base != base) continue;
      n++;
      if (oldest < 0 || last_used_of(e) < last_used_of(state->entries[oldest])) oldest = i;
    }
    if (n <= kOverlaysPerBase) return;
    kill_entry(oldest);
  }
}

int find_entry(const CacheKey& key) {
  for (int i = 0; i < state->capacity; i++) {
    const CacheEntry& e = state->entries[i];
    if (e.used && !e.dead && keys_equal(e.key, key)) return i;
  }
  return -1;
}

const char* snapshot_of(const CacheEntry& e) {
  return DsaPointerIsValid(e.snapshot) ? static_cast<const char*>(dsa_get_address(dsa, e.snapshot))
                                       : nullptr;
}

}  // namespace

void init_shmem_hooks() {
  prev_request_hook = shmem_request_hook;
  shmem_request_hook = request_shmem;
  prev_startup_hook = shmem_startup_hook;
  shmem_startup_hook = startup_shmem;
}

bool attached() { return state != nullptr; }

RulakeShared* shared() {
  if (state == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("ruLake needs ruvector in shared_preload_libraries"),
                    errhint("Add ruvector to shared_preload_libraries in postgresql.conf and "
                            "restart the server.")));
  }
  if (dsa == nullptr) {
    MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
    LWLockRegisterTranche(state->dsa_tranche, "rulake_dsa");
    dsa = dsa_attach_in_place(state->dsa_place, nullptr);
    dsa_pin_mapping(dsa);
    MemoryContextSwitchTo(old);
    before_shmem_exit(release_pins_at_exit, 0);
    RegisterXactCallback(release_pins_at_abort, nullptr);
    RegisterSubXactCallback(release_pins_at_subabort, nullptr);
  }
  return state;
}

dsa_area* area() {
  shared();
  return dsa;
}

bool keys_equal(const CacheKey& a, const CacheKey& b) {
  return memcmp(a.witness, b.witness, kWitnessBytes) == 0 && a.metric == b.metric &&
         a.lists == b.lists;
}

namespace {

// The entries this backend has pinned: one per collection a search is serving.
constexpr int kMaxLocalPins = kMaxPinsPerBackend + 2;  // and an advance's start
int local_pins[kMaxLocalPins];
int nlocal_pins = 0;

}  // namespace

namespace {

// Lock held exclusively.
void unpin_locked(int index) {
  CacheEntry* e = &state->entries[index];
  Assert(pins_of(*e) > 0);
  pg_atomic_fetch_sub_u32(&e->pins, 1);
  if (dead_and_unpinned(*e)) free_entry(e);
}

void release_local_pins() {
  if (nlocal_pins == 0 || state == nullptr) return;
  LWLockAcquire(state->lock, LW_EXCLUSIVE);
  while (nlocal_pins > 0) unpin_locked(local_pins[--nlocal_pins]);
  LWLockRelease(state->lock);
}

// Pins last for one search call and never span statements, so any pin still held when a
// (sub)transaction aborts or the backend exits belongs to a search an error interrupted;
// without this an evicted image would stay allocated forever.
void release_claim();

// A build claim likewise never outlives the search that took it.
void release_pins_at_exit(int, Datum) {
  release_local_pins();
  release_claim();
}
void release_pins_at_abort(XactEvent event, void*) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) {
    release_local_pins();
    release_claim();
  }
}
void release_pins_at_subabort(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (event == SUBXACT_EVENT_ABORT_SUB) {
    release_local_pins();
    release_claim();
  }
}

}  // namespace

Pinned pin_entry(const CacheKey& key, Use use) {
  RulakeShared* s = shared();
  Pinned out;
  memset(&out, 0, sizeof(out));
  out.entry = -1;
  if (nlocal_pins == kMaxLocalPins) elog(ERROR, "rulake: too many pinned cache entries");
  // Shared: the slot cannot be freed or reused while the lock is held, and an eviction
  // (exclusive) sees the pin once it is taken.
  LWLockAcquire(s->lock, LW_SHARED);
  int i = find_entry(key);
  if (i >= 0) {
    CacheEntry* e = &s->entries[i];
    pg_atomic_fetch_add_u32(&e->pins, 1);
    uint64 tick = use == Use::kSearch ? pg_atomic_add_fetch_u64(&s->clock, 1) : 0;
    if (tick != 0) pg_atomic_write_u64(&e->last_used, tick);
    out.entry = i;
    out.image = dsa_get_address(dsa, e->image);
    out.bytes = e->bytes;
    out.snapshot = snapshot_of(*e);
    // The layers below: each overlay keeps the one below it pinned.
    int chain[kMaxOverlayDepth + 1];
    int n = 0;
    for (int at = i; at >= 0 && n <= kMaxOverlayDepth; at = s->entries[at].base) chain[n++] = at;
    out.depth = n - 1;
    for (int l = 0; l < n; l++) {
      CacheEntry* le = &s->entries[chain[n - 1 - l]];
      if (tick != 0) pg_atomic_write_u64(&le->last_used, tick);
      out.layer[l] = {chain[n - 1 - l], dsa_get_address(dsa, le->image),
                      static_cast<Size>(le->bytes), snapshot_of(*le)};
    }
    local_pins[nlocal_pins++] = i;
  }
  LWLockRelease(s->lock);
  return out;
}

void unpin_entry(int entry) {
  if (entry < 0) return;
  RulakeShared* s = shared();
  for (int i = 0; i < nlocal_pins; i++) {
    if (local_pins[i] == entry) {
      local_pins[i] = local_pins[--nlocal_pins];
      break;
    }
  }
  CacheEntry* e = &s->entries[entry];
  LWLockAcquire(s->lock, LW_SHARED);
  bool last = pg_atomic_sub_fetch_u32(&e->pins, 1) == 0;
  bool dead = e->dead;
  LWLockRelease(s->lock);
  // The last pin of an entry evicted or invalidated meanwhile frees it. Another backend may
  // have freed and reused the slot since: free it only if it is still dead and unpinned.
  if (last && dead) {
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    if (dead_and_unpinned(*e)) free_entry(e);
    LWLockRelease(s->lock);
  }
}

namespace {

// Allocates `bytes` in the area, evicting least recently used entries until they fit;
// InvalidDsaPointer when even an empty cache cannot hold them.
dsa_pointer allocate_evicting(Size bytes) {
  RulakeShared* s = state;
  for (;;) {
    dsa_pointer p = dsa_allocate_extended(dsa, bytes, DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);
    if (DsaPointerIsValid(p)) return p;
    LWLockAcquire(s->lock, LW_EXCLUSIVE);
    bool evicted = evict_one();
    LWLockRelease(s->lock);
    if (!evicted) return InvalidDsaPointer;
  }
}

}  // namespace

dsa_pointer reserve_entry(Size bytes) {
  shared();
  return allocate_evicting(bytes);
}

void discard_reserved(dsa_pointer image) {
  shared();
  dsa_free(dsa, image);
}

uint64 search_tick(const char* collection) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_SHARED);
  CollectionState* c = find_collection(collection, IfAbsent::kNull);
  uint64 tick = c != nullptr ? pg_atomic_read_u64(&c->searched_tick) : 0;
  LWLockRelease(s->lock);
  return tick;
}

bool install_entry(const CacheKey& key, const void* image, Size bytes, uint64 rows,
                   uint64 last_used, bool* added, const char* snapshot, int base) {
  *added = false;
  dsa_pointer p = reserve_entry(bytes);
  if (!DsaPointerIsValid(p)) return false;
  // The copy runs without the lock: searches of other entries go on meanwhile.
  memcpy(dsa_get_address(dsa, p), image, bytes);
  if (install_reserved(key, p, bytes, rows, last_used, added, snapshot, base)) return true;
  dsa_free(dsa, p);
  return false;
}

bool install_reserved(const CacheKey& key, dsa_pointer p, Size bytes, uint64 rows, uint64 last_used,
                      bool* added, const char* snapshot, int base) {
  RulakeShared* s = shared();
  *added = false;
  dsa_pointer snap = InvalidDsaPointer;
  if (snapshot != nullptr) {
    snap = allocate_evicting(strlen(snapshot) + 1);
    if (!DsaPointerIsValid(snap)) return false;
    strcpy(static_cast<char*>(dsa_get_address(dsa, snap)), snapshot);
  }

  auto discard_snapshot = [&] {
    if (DsaPointerIsValid(snap)) dsa_free(dsa, snap);
  };
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  if (find_entry(key) >= 0) {
    LWLockRelease(s->lock);
    dsa_free(dsa, p);  // primed concurrently by another backend: keep theirs
    discard_snapshot();
    return true;
  }
  // The caller's pin keeps the base's slot; dead, it is gone for new overlays.
  if (base >= 0 && s->entries[base].dead) {
    LWLockRelease(s->lock);
    discard_snapshot();
    return false;
  }
  int slot = -1;
  for (;;) {
    for (int i = 0; i < s->capacity && slot < 0; i++) {
      if (!s->entries[i].used) slot = i;
    }
    if (slot >= 0 || !evict_one()) break;
  }
  if (slot < 0) {
    LWLockRelease(s->lock);
    discard_snapshot();
    return false;
  }
  if (last_used == kUsedNow)
    last_used = pg_atomic_add_fetch_u64(&s->clock, 1);
  else if (base >= 0)
    last_used = std::max(last_used, last_used_of(s->entries[base]));
  CacheEntry* e = &s->entries[slot];
  clear_entry(e);
  e->used = true;
  e->key = key;
  e->image = p;
  e->bytes = bytes;
  e->rows = rows;
  pg_atomic_write_u64(&e->last_used, last_used);
  e->snapshot = snap;
  e->base = base;
  if (base >= 0) {
    pg_atomic_fetch_add_u32(&s->entries[base].pins, 1);
    retire_old_overlays(base);
  }
  LWLockRelease(s->lock);
  *added = true;
  ConditionVariableBroadcast(&s->changed);
  return true;
}

void drop_entry(const CacheKey& key) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  int i = find_entry(key);
  if (i >= 0) kill_entry(i);
  LWLockRelease(s->lock);
}

bool entry_present(const CacheKey& key, uint64* bytes) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_SHARED);
  int i = find_entry(key);
  if (i >= 0 && bytes != nullptr) {
    *bytes = 0;  // an overlay's, and the layers under it
    for (int at = i, n = 0; at >= 0 && n <= kMaxOverlayDepth; at = s->entries[at].base, n++)
      *bytes += s->entries[at].bytes;
  }
  LWLockRelease(s->lock);
  return i >= 0;
}

CollectionState* find_collection(const char* name, IfAbsent if_absent) {
  RulakeShared* s = shared();
  CollectionState* free_slot = nullptr;
  for (int i = 0; i < s->capacity; i++) {
    CollectionState* c = &s->collections[i];
    if (!c->used) {
      if (free_slot == nullptr) free_slot = c;
      continue;
    }
    if (c->database == MyDatabaseId && strcmp(NameStr(c->name), name) == 0) return c;
  }
  if (if_absent == IfAbsent::kNull) return nullptr;
  if (free_slot == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                    errmsg("ruLake tracks at most %d collections", s->capacity),
                    errhint("Raise rulake.max_collections and restart the server.")));
  }
  clear_state(free_slot);
  free_slot->used = true;
  free_slot->database = MyDatabaseId;
  namestrcpy(&free_slot->name, name);
  return free_slot;
}

void reclaim_states(char* const* names, int n) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  for (int i = 0; i < s->capacity; i++) {
    CollectionState* c = &s->collections[i];
    if (!c->used || c->database != MyDatabaseId) continue;
    bool registered = false;
    for (int j = 0; j < n && !registered; j++) registered = strcmp(NameStr(c->name), names[j]) == 0;
    if (!registered) clear_state(c);
  }
  LWLockRelease(s->lock);
}

void forget_collection(const char* name) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kNull);
  if (c != nullptr) clear_state(c);
  LWLockRelease(s->lock);
}

CollectionState* lock_collection(const char* name) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_SHARED);
  CollectionState* c = find_collection(name, IfAbsent::kNull);
  if (c != nullptr) return c;
  LWLockRelease(s->lock);
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  return find_collection(name, IfAbsent::kCreate);
}

namespace {

// The collection whose build claim this backend holds, if any (one at a time).
NameData claimed;
Oid claimed_database = InvalidOid;

void release_claim() {
  if (claimed_database == InvalidOid || state == nullptr) return;
  LWLockAcquire(state->lock, LW_EXCLUSIVE);
  for (int i = 0; i < state->capacity; i++) {
    CollectionState* c = &state->collections[i];
    if (c->used && c->database == claimed_database &&
        strcmp(NameStr(c->name), NameStr(claimed)) == 0 && c->builder == MyProcPid)
      c->builder = 0;
  }
  LWLockRelease(state->lock);
  claimed_database = InvalidOid;
  ConditionVariableBroadcast(&state->changed);
}

}  // namespace

bool claim_build(const char* name) {
  RulakeShared* s = shared();
  if (claimed_database != InvalidOid) return false;  // one claim at a time
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* c = find_collection(name, IfAbsent::kCreate);
  bool mine = c->builder == 0;
  if (mine) {
    c->builder = MyProcPid;
    namestrcpy(&claimed, name);
    claimed_database = MyDatabaseId;
  }
  LWLockRelease(s->lock);
  return mine;
}

void end_build() { release_claim(); }

bool wait_for_build(const char* name, TimestampTz deadline) {
  RulakeShared* s = shared();
  ConditionVariablePrepareToSleep(&s->changed);
  for (;;) {
    LWLockAcquire(s->lock, LW_SHARED);
    CollectionState* c = find_collection(name, IfAbsent::kNull);
    bool building = c != nullptr && c->builder != 0;
    LWLockRelease(s->lock);
    if (!building) break;
    long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
    if (left <= 0) {
      ConditionVariableCancelSleep();
      return false;
    }
    ConditionVariableTimedSleep(&s->changed, std::min<long>(left, 100), PG_WAIT_EXTENSION);
  }
  ConditionVariableCancelSleep();
  return true;
}

void wake_worker() {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_SHARED);
  Latch* latch = s->worker_latch;
  LWLockRelease(s->lock);
  if (latch != nullptr) SetLatch(latch);
}

}  // namespace ruvector::pg::rulake
