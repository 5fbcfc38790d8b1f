// ruLake: a cache of compressed collection indexes in shared memory (docs/rulake.md).
//
// A collection is a registered source of (id, vector) rows: a table column, a bundle
// directory under rulake.bundle_root, or a remote bundle mirrored by the refill worker.
// Its witness (data_ref, dim, seed, rerank factor, generation) plus the index options is
// the cache key, so collections over the same data share one entry. Entries are index
// images (src/rulake/collection_index.h) copied into a DSA area that lives inside the main
// shared memory segment, sized by rulake.cache_size; least recently used ones are evicted.
//
// Shared state, under one LWLock:
//   CacheEntry[max_collections]       one per cached image: key, image, pins, LRU tick
//   CollectionState[max_collections]  one per (database, collection): the key it uses,
//                                     counters for rulake.stats(), refill requests
// A search takes the lock in shared mode only: pins, the LRU clock and the counters are
// atomics, and what they sit in (a slot's key, image and liveness) changes only under the
// exclusive lock. Searches read the image without the lock; priming builds the image with
// no lock held and takes the lock only to install it; one backend at a time builds a
// collection's image (the build claim), the others wait for it.
#pragma once

#include "extension/pg_wrapper.h"

extern "C" {
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/dsa.h"
#include "utils/timestamp.h"
}

#include <cstdint>

namespace ruvector::pg::rulake {

constexpr int kWitnessBytes = 32;

enum Consistency : int { kFresh = 0, kEventual = 1, kFrozen = 2 };
enum SourceKind : int { kSourceTable = 0, kSourceBundle = 1, kSourceRemote = 2 };
enum CollectionStatus : int { kCold = 0, kReady = 1, kInvalidated = 2, kFailed = 3 };

// What identifies a cache entry: the collection's witness and the options that shape the
// index built from the same data.
struct CacheKey {
  uint8 witness[kWitnessBytes];
  uint32 metric;  // rabitq::Metric
  uint32 lists;   // the lists option (0: chosen from the row count)
};

struct CacheEntry {
  bool used;
  bool dead;  // evicted or invalidated while pinned: the last unpin frees it
  CacheKey key;
  dsa_pointer image;  // an index image, or an overlay (src/rulake/overlay.h) when base >= 0
  uint64 bytes;
  uint64 rows;
  pg_atomic_uint32 pins;
  // RulakeShared::clock when last searched; what the worker installs starts from the
  // collection's last search (searched_tick), so its own primes never make an entry recent.
  pg_atomic_uint64 last_used;
  // An overlay's base entry, which it keeps pinned for its whole life; -1 for an image.
  int base;
  // A table's rows were read under this snapshot (pg_snapshot text, in the area): what the
  // next overlay compares the write log with. Invalid for bundles.
  dsa_pointer snapshot;
};

struct CollectionState {
  bool used;
  Oid database;
  NameData name;
  bool has_key;  // key: the entry this collection was last primed into
  CacheKey key;
  int status;  // CollectionStatus
  uint64 primes;
  pg_atomic_uint64 hits;
  pg_atomic_uint64 misses;
  uint64 evictions;         // times the image this collection used was evicted to make room
  pg_atomic_uint64 deltas;  // writes folded into an overlay instead of a full prime
  TimestampTz last_primed;
  // TimestampTz, by a backend: the refill worker re-primes on this demand.
  pg_atomic_uint64 last_searched;
  pg_atomic_uint64 searched_tick;  // RulakeShared::clock at its last search, 0 for never
  int builder;                     // pid of the backend priming or advancing its image, 0 when none
  TimestampTz last_checked;        // when the source's witness was last compared (eventual)
  bool refill_wanted;              // a backend waits for the worker to fetch or prime this
  char last_error[512];
  // The refill worker backs off a collection that fails, and separately a remote bundle
  // whose fetch fails (back_off in rulake_source.cpp); a success resets the count.
  uint32 failures;
  TimestampTz retry_at;
  uint32 fetch_failures;
  TimestampTz fetch_retry_at;
  TimestampTz last_fetched;  // when the worker last started a fetch of the remote bundle
  bool fetched;              // a fetch brought a new bundle into the mirror: prime it
};

// A fetch of a remote bundle in flight (rulake_fetch.cpp): the refill worker claims a slot
// and starts a dynamic worker on it, which frees the slot when it exits. At most
// kMaxFetches run at once, and never two into one mirror.
constexpr int kMaxFetches = 4;
constexpr int kMaxUrlBytes = 2048;
struct FetchSlot {
  bool used;
  Oid database;
  NameData collection;
  char url[kMaxUrlBytes];
  int pid;  // the fetch worker's, once it runs
  TimestampTz claimed;
};

struct RulakeShared {
  int lock_tranche;
  int dsa_tranche;
  LWLock* lock;
  ConditionVariable changed;  // broadcast when an entry is installed or a refill ends
  Latch* worker_latch;        // the refill worker's, while it runs
  pg_atomic_uint64 clock;
  int capacity;  // rulake.max_collections at startup: length of both arrays
  Size dsa_bytes;
  CacheEntry* entries;
  CollectionState* collections;
  void* dsa_place;
  FetchSlot fetches[kMaxFetches];
};

// GUCs (rulake_gucs.cpp).
extern int cache_size_mb;
extern int max_collections;
extern int max_collections_per_role;
extern int refresh_interval_s;
extern int reprime_window_s;
extern int cold_wait_ms;
extern char* worker_database;
extern char* bundle_root;
extern char* allowed_hosts;
extern int fetch_timeout_s;
extern int max_fetch_mb;
extern int max_prime_memory_mb;
extern double rebuild_threshold;

void init_gucs();
void init_shmem_hooks();  // from _PG_init while preloading
void register_worker();   // likewise

// Shared state (rulake_cache.cpp). shared() raises a clear error when ruvector was not
// preloaded; attached() says whether it was, for callers that must not raise.
RulakeShared* shared();
bool attached();
dsa_area* area();

// A pinned entry: its bytes stay valid until unpin(), even if evicted meanwhile. An
// overlay lies over the entry below it (an image, or an overlay of one), which it keeps
// alive: layer[0] is the image, layer[depth] this entry.
struct Pinned {
  int entry;          // index into entries, -1 when nothing was found
  const void* image;  // this entry's bytes: layer[depth]
  Size bytes;
  const char* snapshot;  // this entry's, nullptr when it has none
  int depth;             // 0: an image; 1 or 2: an overlay
  struct Layer {
    int entry;
    const void* bytes;
    Size size;
    const char* snapshot;
  } layer[3];
};
constexpr int kMaxOverlayDepth = 2;
// Whether a pin or an install is a search's, which makes the entry the most recently
// used, or the refill worker's, which leaves the LRU order to the searches.
enum class Use { kSearch, kBackground };
Pinned pin_entry(const CacheKey& key, Use use);
// Entries one backend may hold pinned at once (a federated search pins one per shard).
constexpr int kMaxPinsPerBackend = 64;
void unpin_entry(int entry);
// An entry's place in the LRU order when it is installed: kUsedNow for a search's, or the
// searched_tick of the collection the worker installs it for (search_tick()).
constexpr uint64 kUsedNow = PG_UINT64_MAX;
uint64 search_tick(const char* collection);
// Copies an image into the cache under `key`, evicting least recently used entries to make
// room; returns false when it cannot fit even in an empty cache. An entry already there
// under the same key (primed concurrently) is kept, the copy discarded, and *added false.
// `snapshot` (may be nullptr) is kept with it. An overlay names its base entry, which the
// caller has pinned; false, too, when that base was dropped meanwhile. An overlay installed
// in the background is as recent as its base, the newest of its family.
bool install_entry(const CacheKey& key, const void* image, Size bytes, uint64 rows,
                   uint64 last_used, bool* added, const char* snapshot = nullptr, int base = -1);
// The same in two steps, for an image built in place: reserve_entry takes `bytes` in the
// area, evicting as install_entry does (InvalidDsaPointer when they cannot fit), and the
// chunk is the caller's, seen by no search, until install_reserved takes it (or frees it,
// keeping a concurrent prime's entry) or discard_reserved frees it. When install_reserved
// returns false the chunk is still the caller's.
dsa_pointer reserve_entry(Size bytes);
void discard_reserved(dsa_pointer image);
bool install_reserved(const CacheKey& key, dsa_pointer image, Size bytes, uint64 rows,
                      uint64 last_used, bool* added, const char* snapshot = nullptr, int base = -1);
// Marks the entry dead (freed now, or by its last unpin).
void drop_entry(const CacheKey& key);
bool entry_present(const CacheKey& key, uint64* bytes);

// What find_collection does when the collection has no state yet.
enum class IfAbsent { kNull, kCreate };
// Finds the state of a collection of this database, or creates it (lock held by the caller
// in exclusive mode for kCreate).
CollectionState* find_collection(const char* name, IfAbsent if_absent);
// The same with the lock taken here: shared when the state exists, exclusive to create it.
// The caller releases shared()->lock.
CollectionState* lock_collection(const char* name);

// The build claim: whether this backend may prime or advance the collection's image now
// (no other backend is); a claim is kept until end_build, or an abort or exit releases it.
bool claim_build(const char* name);
void end_build();
// Waits until no backend holds the collection's build claim, or the deadline passes;
// false at the deadline.
bool wait_for_build(const char* name, TimestampTz deadline);
// Frees the states of this database's collections that are not among `names` (the
// registered ones): a state outlives a registration that was rolled back or a row deleted
// by hand, and must not hold its slot until the server restarts.
void reclaim_states(char* const* names, int n);
void forget_collection(const char* name);
void wake_worker();

bool keys_equal(const CacheKey& a, const CacheKey& b);

}  // namespace ruvector::pg::rulake
