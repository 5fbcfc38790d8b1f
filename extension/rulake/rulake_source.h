// Collections as the cache sees them: the catalog row, the key the source has now, and
// priming (reading the rows and building the index image).
#pragma once

#include "extension/rulake/rulake.h"

extern "C" {
#include "storage/itemptr.h"
}

#include <type_traits>

namespace ruvector::pg::rulake {

// A row of rulake.collections, palloc'd: trivially destructible, so it may cross longjmps.
struct Collection {
  char* name;
  int kind;  // SourceKind
  char* location;
  int consistency;
  uint32 metric;  // rabitq::Metric
  uint64 seed;
  uint32 rerank_factor;
  uint32 lists;
  uint32 probes;
  Oid owner;
  Oid relid;
  bool foreign;  // a table source that is a foreign table: no write log, eventual or frozen
  char* id_column;
  char* vector_column;
  int dim;        // the column's declared dimensions, 0 when undeclared
  char* witness;  // a bundle's rvf_witness (hex) it is pinned to, or nullptr
};

// Reads the catalog row; false when there is none. Runs its own SPI connection.
bool lookup_collection(const char* name, Collection* out);
// The rows of n names in one query: out[i] and found[i] for names[i], and with `tids` the
// place of each row read (what the search's catalog cache checks).
void lookup_collections(const char* const* names, int n, Collection* out, bool* found,
                        ItemPointerData* tids = nullptr);
Collection* require_collection(const char* name);
// An array of n collections, one per name; raises for the first name not registered.
Collection* require_collections(const char* const* names, int n);
// The same for a search, whose caller checks read access (check_read_access) next: rows
// this role read before in this backend come from its copy while the row it was read from
// is still the version the statement's snapshot sees (rulake_catalog_cache.cpp).
Collection* require_searched_collections(const char* const* names, int n);

// Whether `user` may read a table collection's rows: the table exists without row
// security, and `user` may SELECT its id and vector columns. Never raises.
bool table_readable(Oid relid, const char* id_column, const char* vector_column, Oid user);

// Raises unless the current user may read the collection's data: table_readable for a
// table source; pg_read_server_files (or superuser) for bundles, and also the owner for
// remote bundles.
void check_read_access(const Collection& c);
// Raises unless the current user has the privileges of the collection's owner.
void check_owner(const Collection& c, const char* what);

// Registrations in this database, counted over every role's rows.
struct CatalogCounts {
  int64 total;
  int64 owned;      // owned by the current user
  bool name_taken;  // by any role
  Oid name_owner;
};
CatalogCounts count_registrations(const char* name);
// reclaim_states() over this database's registered collections, read as they are now.
void reclaim_unregistered_states();

// A foreign table's generation: the rulake.refresh_interval period this statement started
// in. Its rows are read again each period, since writes on its server are not logged here.
uint64 foreign_generation();

// The state of the source now.
struct SourceKey {
  bool present;     // false: a bundle directory or remote mirror without a bundle
  bool own_writes;  // the visible generation includes this transaction's writes
  CacheKey key;
  uint32 rerank_factor;  // the source's default: the option, or the bundle's sidecar
};
SourceKey current_key(const Collection& c);

// ReadOptions::bundle_root for reading `c`'s bundle: rulake.bundle_root for a bundle:DIR
// source, "" (no file:// data_ref) for a remote mirror.
const char* bundle_read_root(const Collection& c);

// A table's generation and whether this transaction wrote it: $1 is the relation's oid.
extern const char kGenerationQuery[];
// The key a table collection has at `generation`; compute_table_key throws (C++ scopes).
CacheKey table_key(const Collection& c, uint64 generation);
CacheKey compute_table_key(const Collection& c, uint64 generation);

// An image built outside the cache, in malloc'd memory that belongs to the memory context
// that was current when it was built: freed by free_private_image, or when that context
// goes (at an error too).
struct PrivateImage {
  MemoryContextCallback callback;
  unsigned char* bytes;
  Size size;
};
void free_private_image(PrivateImage* image);

// Reads the rows and builds the image (rulake_prime.cpp), in memory bounded by
// rulake.max_prime_memory and an image no larger than rulake.cache_size: both are checked
// on an estimate of the rows before any is read (the planner's, or the bundle's count) and
// again as rows arrive. Installs the image in the cache unless the rows include this
// transaction's own writes (other sessions must not see them); then, or when the cache
// cannot make room, the image is returned in *private_image for this search alone; an
// installed image is built in the cache's memory, never held twice. `use` says whose
// prime it is: the refill worker's does not make the entry recently used.
// Returns the key it built.
struct Primed {
  CacheKey key;
  uint32 rerank_factor;
  bool installed;
  bool added;  // installed as a new entry, not found primed by someone else meanwhile
  PrivateImage* private_image;
};
Primed prime(const Collection& c, Use use);

// Serves `target`, the key a table collection has now, from `start`, an entry primed or
// advanced earlier, by folding the writes logged since into an overlay (rulake_delta.cpp):
// the pinned new entry, or entry -1 when that cannot be done (the write log does not name
// every id, the changes pass rulake.rebuild_threshold, `start` is newer than this
// snapshot or gone), and the caller primes instead. Never for this transaction's own
// writes: the caller checks SourceKey::own_writes. *newest says whether `target` carried
// `start` forward (and replaced it) rather than serving an older snapshot from the base.
// `use` as for prime().
Pinned advance(const Collection& c, const CacheKey& start, const CacheKey& target, Use use,
               bool* newest);
// Counts an entry advance() installed in rulake.stats(); the collection uses it from now
// on when it is the newest.
void note_advanced(const Collection& c, const CacheKey& key, bool newest);
// Whether the entry under `key` is an overlay past half of rulake.rebuild_threshold, which
// the refill worker primes again in the background before searches have to.
bool overlay_heavy(const CacheKey& key);

// A table collection's rows in memory, ordered by id, palloc'd (for publishing it).
struct BundleRows {
  uint64 generation;
  bool own_writes;
  uint64 count;
  uint32 dim;
  uint64 seed;
  uint32 rerank_factor;
  int64* ids;
  float* vectors;
};
void read_rows(const Collection& c, BundleRows* out);

// All of these live in frames that an ereport may longjmp over.
static_assert(std::is_trivially_destructible_v<Collection> &&
              std::is_trivially_destructible_v<SourceKey> &&
              std::is_trivially_destructible_v<Primed> &&
              std::is_trivially_destructible_v<BundleRows>);

// Where the refill worker mirrors a remote bundle: $PGDATA/pg_rulake/remote/<hash of URL>.
char* remote_mirror_dir(const char* url);
// A bundle source's directory, confined to rulake.bundle_root.
char* bundle_dir(const Collection& c);

// The collection's shared state, created if needed; updates run under the lock.
void note_primed(const Collection& c, const Primed& p);
// Keeps why the collection could not be primed for rulake.stats (last_error).
void note_failure(const char* name, const char* message);
// The refill worker's failures back off (lock held): counts one more in *failures, puts
// *retry_at after a delay that doubles from 5 s up to 10 minutes, and keeps the message
// with when the next attempt is in last_error.
void back_off(CollectionState* state, uint32* failures, TimestampTz* retry_at, const char* message);
char* witness_hex(const uint8* witness);
// Whether a bundle with this rvf_witness may serve the collection: any, unless it is
// pinned to one (the `witness` option). Never raises.
bool witness_allowed(const Collection& c, const uint8* rvf_witness);
// Raises (XX001) that the collection's bundle is not the one it is pinned to.
void refuse_bundle(const Collection& c, const uint8* rvf_witness);

}  // namespace ruvector::pg::rulake
