// See rulake_source.h: the catalog, access checks, where sources live and the key they have
// now. Postgres-facing code is written C-style (palloc, no objects with destructors) so that
// an ereport can unwind it; the core is called in narrow C++ scopes. Priming is in
// rulake_prime.cpp.
#include "extension/rulake/rulake_source.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "bundle/errors.h"
#include "bundle/paths.h"
#include "bundle/shake.h"
#include "bundle/verify.h"
#include "bundle/witness.h"
#include "extension/boundary.h"
#include "extension/user_switch.h"
#include "extension/vector/vector_type.h"
#include "rulake/collection_index.h"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "utils/syscache.h"
#include "executor/spi.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
}

namespace ruvector::pg::rulake {

namespace core = ::ruvector::rulake;

const char kGenerationQuery[] =
    "SELECT coalesce(sum(weight), 0)::bigint AS generation,"
    " coalesce(bool_or(rulake._xmin_is_mine(xmin)), false) AS mine"
    " FROM rulake.table_writes WHERE relid = $1";

namespace {

char* copy_text_column(HeapTuple tuple, TupleDesc desc, int column) {
  char* value = SPI_getvalue(tuple, desc, column);
  return value == nullptr ? nullptr : pstrdup(value);
}

int64 int_column(HeapTuple tuple, TupleDesc desc, int column) {
  bool isnull = false;
  Datum d = SPI_getbinval(tuple, desc, column, &isnull);
  if (isnull) return 0;
  Oid type = SPI_gettypeid(desc, column);
  if (type == INT8OID) return DatumGetInt64(d);
  if (type == OIDOID || type == REGCLASSOID || type == REGROLEOID) return DatumGetObjectId(d);
  return DatumGetInt32(d);
}

int consistency_of(const char* text) {
  if (strcmp(text, "eventual") == 0) return kEventual;
  if (strcmp(text, "frozen") == 0) return kFrozen;
  return kFresh;
}

uint32 metric_of(const char* text) {
  if (strcmp(text, "ip") == 0) return static_cast<uint32>(core::Metric::kInnerProduct);
  if (strcmp(text, "cosine") == 0) return static_cast<uint32>(core::Metric::kCosine);
  return static_cast<uint32>(core::Metric::kL2);
}

CacheKey key_of(const uint8* witness, const Collection& c) {
  CacheKey key;
  memset(&key, 0, sizeof(key));
  memcpy(key.witness, witness, kWitnessBytes);
  key.metric = c.metric;
  key.lists = c.lists;
  return key;
}

// A plan of `sql` kept for the backend's life in *slot, prepared on first use: a search
// runs the same catalog queries every time, and parsing and planning them was a fifth of a
// federated search. Inside SPI_connect.
SPIPlanPtr kept_plan(SPIPlanPtr* slot, const char* sql, int nargs, Oid* types) {
  if (*slot == nullptr) {
    SPIPlanPtr plan = SPI_prepare(sql, nargs, types);
    if (plan == nullptr) elog(ERROR, "rulake: preparing \"%s\" failed", sql);
    SPI_keepplan(plan);
    *slot = plan;
  }
  return *slot;
}

SPIPlanPtr generation_plan = nullptr;

void read_generation(Oid relid, uint64* generation, bool* own_writes) {
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(relid)};
  SPI_connect();
  SPIPlanPtr plan = kept_plan(&generation_plan, kGenerationQuery, 1, types);
  if (SPI_execute_plan(plan, values, nullptr, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "rulake: reading the generation of relation %u failed", relid);
  *generation = static_cast<uint64>(int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
  bool isnull = false;
  *own_writes =
      DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
  SPI_finish();
}

}  // namespace

// A table's witness: the bundle witness construction over what identifies the rows (the
// database, the relation and its columns), the seed, the rerank factor and the generation.
// The data digest stays zero: a table's data is covered by its generation instead.
CacheKey compute_table_key(const Collection& c, uint64 generation) {
  char ref[NAMEDATALEN * 3 + 64];
  snprintf(ref, sizeof(ref), "table:%u/%u(%s,%s)", MyDatabaseId, c.relid, c.id_column,
           c.vector_column);
  bundle::Sidecar s;
  s.data_ref = ref;
  s.dim = static_cast<uint32_t>(c.dim);
  s.rotation_seed = c.seed;
  s.rerank_factor = c.rerank_factor;
  s.generation = static_cast<std::uint64_t>(generation);
  bundle::Digest witness = bundle::compute_witness(s);
  return key_of(witness.data(), c);
}

CacheKey table_key(const Collection& c, uint64 generation) {
  return guard([&] { return compute_table_key(c, generation); });
}

namespace {

// Every search reads its collections' rows: one query for all of them, planned once per
// backend (the plan cache replans it after DDL, or for another role under row security).
const char kLookupQuery[] =
    "SELECT name, kind, location, consistency, metric, seed, rerank_factor, lists, probes,"
    " owner, relid, id_column, vector_column, dim, options->>'witness', ctid"
    " FROM rulake.collections WHERE name = ANY($1)";
SPIPlanPtr lookup_plan = nullptr;

void read_collection(HeapTuple t, TupleDesc d, Collection* out) {
  out->name = copy_text_column(t, d, 1);
  char* kind = SPI_getvalue(t, d, 2);
  out->kind = strcmp(kind, "table") == 0    ? kSourceTable
              : strcmp(kind, "bundle") == 0 ? kSourceBundle
                                            : kSourceRemote;
  out->location = copy_text_column(t, d, 3);
  out->consistency = consistency_of(SPI_getvalue(t, d, 4));
  out->metric = metric_of(SPI_getvalue(t, d, 5));
  out->seed = static_cast<uint64>(int_column(t, d, 6));
  out->rerank_factor = static_cast<uint32>(int_column(t, d, 7));
  out->lists = static_cast<uint32>(int_column(t, d, 8));
  out->probes = static_cast<uint32>(int_column(t, d, 9));
  out->owner = static_cast<Oid>(int_column(t, d, 10));
  out->relid = static_cast<Oid>(int_column(t, d, 11));
  out->id_column = copy_text_column(t, d, 12);
  out->vector_column = copy_text_column(t, d, 13);
  out->dim = static_cast<int>(int_column(t, d, 14));
  out->witness = copy_text_column(t, d, 15);
  out->foreign = out->kind == kSourceTable && get_rel_relkind(out->relid) == RELKIND_FOREIGN_TABLE;
}

}  // namespace

void lookup_collections(const char* const* names, int n, Collection* out, bool* found,
                        ItemPointerData* tids) {
  auto* elems = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  for (int i = 0; i < n; i++) {
    elems[i] = CStringGetTextDatum(names[i]);
    found[i] = false;
  }
  Datum values[1] = {PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT))};
  MemoryContext caller = CurrentMemoryContext;
  SPI_connect();
  Oid types[1] = {TEXTARRAYOID};
  SPIPlanPtr plan = kept_plan(&lookup_plan, kLookupQuery, 1, types);
  if (SPI_execute_plan(plan, values, nullptr, true, 0) != SPI_OK_SELECT)
    elog(ERROR, "rulake: reading rulake.collections failed");
  MemoryContext old = MemoryContextSwitchTo(caller);
  for (uint64 r = 0; r < SPI_processed; r++) {
    HeapTuple t = SPI_tuptable->vals[r];
    char* name = SPI_getvalue(t, SPI_tuptable->tupdesc, 1);
    // Names are unique; a name given twice gets the row in each place.
    for (int i = 0; i < n; i++) {
      if (found[i] || strcmp(names[i], name) != 0) continue;
      read_collection(t, SPI_tuptable->tupdesc, &out[i]);
      found[i] = true;
      if (tids != nullptr) {
        bool isnull = false;
        tids[i] = *reinterpret_cast<ItemPointer>(
            DatumGetPointer(SPI_getbinval(t, SPI_tuptable->tupdesc, 16, &isnull)));
      }
    }
  }
  MemoryContextSwitchTo(old);
  SPI_finish();
}

bool lookup_collection(const char* name, Collection* out) {
  bool found = false;
  lookup_collections(&name, 1, out, &found);
  return found;
}

Collection* require_collections(const char* const* names, int n) {
  auto* c = static_cast<Collection*>(palloc0(sizeof(Collection) * n));
  auto* found = static_cast<bool*>(palloc(sizeof(bool) * n));
  lookup_collections(names, n, c, found);
  for (int i = 0; i < n; i++) {
    if (found[i]) continue;
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("rulake collection \"%s\" does not exist", names[i]),
                    errhint("Register it with rulake.register(name, source).")));
  }
  pfree(found);
  return c;
}

Collection* require_collection(const char* name) { return require_collections(&name, 1); }

namespace {

// Row security of a relation; false when it does not exist.
bool row_security_of(Oid relid, bool* exists) {
  HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  *exists = HeapTupleIsValid(tuple);
  if (!*exists) return false;
  bool row_security = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relrowsecurity;
  ReleaseSysCache(tuple);
  return row_security;
}

}  // namespace

bool table_readable(Oid relid, const char* id_column, const char* vector_column, Oid user) {
  bool exists = false;
  if (row_security_of(relid, &exists) || !exists) return false;
  if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK) return true;
  AttrNumber id = get_attnum(relid, id_column);
  AttrNumber vec = get_attnum(relid, vector_column);
  return id != InvalidAttrNumber && vec != InvalidAttrNumber &&
         pg_attribute_aclcheck(relid, id, user, ACL_SELECT) == ACLCHECK_OK &&
         pg_attribute_aclcheck(relid, vec, user, ACL_SELECT) == ACLCHECK_OK;
}

void check_read_access(const Collection& c) {
  if (c.kind == kSourceTable) {
    bool exists = false;
    bool row_security = row_security_of(c.relid, &exists);
    // A dropped table leaves its collections in place (docs/rulake.md#dropped-tables): say
    // so, rather than the permission error a missing table would otherwise give.
    if (!exists) {
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("the table of rulake collection \"%s\" no longer exists", c.name),
                      errdetail("Its table %s was dropped.", c.location),
                      errhint("Unregister the collection with rulake.unregister('%s').", c.name)));
    }
    if (row_security) {
      ereport(ERROR,
              (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
               errmsg("rulake collection \"%s\" reads a table with row level security", c.name),
               errdetail("A cached collection is shared by every role that searches it, "
                         "so it cannot apply each searcher's policies."),
               errhint("Unregister the collection, or disable row security on %s.",
                       get_rel_name(c.relid))));
    }
    if (!table_readable(c.relid, c.id_column, c.vector_column, GetUserId())) {
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("permission denied for rulake collection \"%s\"", c.name),
                      errdetail("Searching it needs SELECT on its table's columns %s and %s.",
                                c.id_column, c.vector_column)));
    }
    return;
  }
  // Bundles under rulake.bundle_root are server files: reading one needs the right to read
  // server files, whoever registered it. A remote bundle is what its registrant chose to
  // fetch from an allowed host, so its owner may read it too.
  if (has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES)) return;
  if (c.kind == kSourceRemote && has_privs_of_role(GetUserId(), c.owner)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("permission denied for rulake collection \"%s\"", c.name),
                  errdetail(c.kind == kSourceRemote
                                ? "Remote bundles are read by their owner, superusers and members "
                                  "of pg_read_server_files."
                                : "Bundles are read by superusers and members of "
                                  "pg_read_server_files.")));
}

void check_owner(const Collection& c, const char* what) {
  if (has_privs_of_role(GetUserId(), c.owner)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("must be the owner of rulake collection \"%s\" to %s it", c.name, what)));
}

CatalogCounts count_registrations(const char* name) {
  CatalogCounts out;
  memset(&out, 0, sizeof(out));
  Oid user = GetUserId();
  // Row security shows a role only some rows; quotas and names count every role's.
  SavedUser saved = switch_user(BOOTSTRAP_SUPERUSERID);
  Oid types[2] = {OIDOID, TEXTOID};
  Datum values[2] = {ObjectIdGetDatum(user), CStringGetTextDatum(name)};
  SPI_connect();
  if (SPI_execute_with_args("SELECT count(*), count(*) FILTER (WHERE owner = $1),"
                            " (SELECT owner::oid FROM rulake.collections WHERE name = $2)"
                            " FROM rulake.collections",
                            2, types, values, nullptr, true, 1) != SPI_OK_SELECT) {
    elog(ERROR, "rulake: counting rulake.collections failed");
  }
  HeapTuple t = SPI_tuptable->vals[0];
  TupleDesc d = SPI_tuptable->tupdesc;
  out.total = int_column(t, d, 1);
  out.owned = int_column(t, d, 2);
  bool isnull = false;
  SPI_getbinval(t, d, 3, &isnull);
  out.name_taken = !isnull;
  out.name_owner = isnull ? InvalidOid : static_cast<Oid>(int_column(t, d, 3));
  SPI_finish();
  restore_user(saved);
  return out;
}

void reclaim_unregistered_states() {
  if (!attached()) return;
  MemoryContext caller = CurrentMemoryContext;
  SavedUser saved = switch_user(BOOTSTRAP_SUPERUSERID);
  SPI_connect();
  if (SPI_execute("SELECT name FROM rulake.collections", true, 0) != SPI_OK_SELECT)
    elog(ERROR, "rulake: reading rulake.collections failed");
  int n = static_cast<int>(SPI_processed);
  auto** names = static_cast<char**>(MemoryContextAlloc(caller, sizeof(char*) * (n + 1)));
  for (int i = 0; i < n; i++) {
    names[i] =
        MemoryContextStrdup(caller, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
  }
  SPI_finish();
  restore_user(saved);
  reclaim_states(names, n);
}

char* witness_hex(const uint8* witness) {
  char* out = static_cast<char*>(palloc(kWitnessBytes * 2 + 1));
  for (int i = 0; i < kWitnessBytes; i++) snprintf(out + 2 * i, 3, "%02x", witness[i]);
  return out;
}

bool witness_allowed(const Collection& c, const uint8* rvf_witness) {
  if (c.witness == nullptr) return true;
  char hex[kWitnessBytes * 2 + 1];
  for (int i = 0; i < kWitnessBytes; i++) snprintf(hex + 2 * i, 3, "%02x", rvf_witness[i]);
  return strcmp(hex, c.witness) == 0;
}

void refuse_bundle(const Collection& c, const uint8* rvf_witness) {
  ereport(ERROR,
          (errcode(ERRCODE_DATA_CORRUPTED),
           errmsg("the bundle of rulake collection \"%s\" is not the one it was registered with",
                  c.name),
           errdetail("Its rvf_witness is %s; the collection is pinned to %s.",
                     witness_hex(rvf_witness), c.witness),
           errhint("The bundle at %s was replaced. Register the new one from its own part, or "
                   "unregister the collection.",
                   c.location)));
}

char* remote_mirror_dir(const char* url) {
  uint8 digest[kWitnessBytes];
  guard([&] {
    bundle::Shake256 h;
    h.update(url, strlen(url));
    bundle::Digest d = h.finish();
    memcpy(digest, d.data(), kWitnessBytes);
  });
  char* hex = witness_hex(digest);
  hex[32] = '\0';
  return psprintf("%s/pg_rulake/remote/%s", DataDir, hex);
}

char* bundle_dir(const Collection& c) {
  if (c.kind == kSourceRemote) return remote_mirror_dir(c.location);
  const char* root = bundle_root == nullptr ? "" : bundle_root;
  char path[MAXPGPATH];
  guard([&] {
    std::string confined = bundle::confine(root, c.location);
    strlcpy(path, confined.c_str(), sizeof(path));
  });
  return pstrdup(path);
}

const char* bundle_read_root(const Collection& c) {
  // A remote mirror's data must be in the mirror: a file:// URI there names the
  // publisher's disk, not ours.
  if (c.kind == kSourceRemote || bundle_root == nullptr) return "";
  return bundle_root;
}

uint64 foreign_generation() {
  return static_cast<uint64>(GetCurrentStatementStartTimestamp()) /
         (static_cast<uint64>(refresh_interval_s) * USECS_PER_SEC);
}

SourceKey current_key(const Collection& c) {
  SourceKey out;
  memset(&out, 0, sizeof(out));
  out.rerank_factor = c.rerank_factor;
  if (c.kind == kSourceTable) {
    uint64 generation = 0;
    if (c.foreign) {
      generation = foreign_generation();
    } else {
      read_generation(c.relid, &generation, &out.own_writes);
    }
    out.present = true;
    out.key = table_key(c, generation);
    return out;
  }
  char* dir = bundle_dir(c);
  const char* root = bundle_read_root(c);
  struct Result {
    bool present;
    uint8 witness[kWitnessBytes];
    uint8 rvf_witness[kWitnessBytes];
    uint32 rerank;
  } r = guard([&] {
    Result res{};
    try {
      bundle::ReadOptions options;
      options.bundle_root = root;
      bundle::Sidecar s = bundle::read_sidecar_checked(dir, options);
      res.present = true;
      memcpy(res.witness, bundle::cache_witness(s).data(), kWitnessBytes);
      memcpy(res.rvf_witness, s.rvf_witness.data(), kWitnessBytes);
      res.rerank = s.rerank_factor;
    } catch (const bundle::IoError& e) {
      if (e.sys_errno() != ENOENT) throw;
    }
    return res;
  });
  out.present = r.present;
  if (r.present && !witness_allowed(c, r.rvf_witness)) refuse_bundle(c, r.rvf_witness);
  if (r.present) {
    out.key = key_of(r.witness, c);
    out.rerank_factor = r.rerank;
  }
  return out;
}

void note_primed(const Collection& c, const Primed& p) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* state = find_collection(c.name, IfAbsent::kCreate);
  // The entry this collection used before, when nothing else uses it, is stale for good:
  // free its memory now rather than when LRU gets to it.
  bool drop_old = false;
  CacheKey old = state->key;
  if (p.installed && state->has_key && !keys_equal(old, p.key)) {
    drop_old = true;
    for (int i = 0; i < s->capacity && drop_old; i++) {
      const CollectionState& other = s->collections[i];
      if (other.used && &other != state && other.has_key && keys_equal(other.key, old))
        drop_old = false;
    }
  }
  if (p.installed) {
    state->has_key = true;
    state->key = p.key;
    state->status = kReady;
    if (p.added) state->primes++;
    state->last_primed = GetCurrentTimestamp();
    state->last_checked = state->last_primed;
    state->last_error[0] = '\0';
  }
  LWLockRelease(s->lock);
  if (drop_old) drop_entry(old);
}

void note_failure(const char* name, const char* message) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* state = find_collection(name, IfAbsent::kNull);
  if (state != nullptr) strlcpy(state->last_error, message, sizeof(state->last_error));
  LWLockRelease(s->lock);
}

void back_off(CollectionState* state, uint32* failures, TimestampTz* retry_at,
              const char* message) {
  constexpr long kFirstRetryS = 5;
  constexpr long kMaxRetryS = 600;
  (*failures)++;
  long delay_s = kMaxRetryS;
  if (*failures <= 8) delay_s = std::min(kMaxRetryS, kFirstRetryS << (*failures - 1));
  *retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay_s * 1000);
  char suffix[96];
  if (*failures == 1) {
    snprintf(suffix, sizeof(suffix), " (next attempt in %ld s)", delay_s);
  } else {
    snprintf(suffix, sizeof(suffix), " (failed %u times in a row; next attempt in %ld s)",
             *failures, delay_s);
  }
  // The message is cut, not the suffix, when both do not fit.
  int room = static_cast<int>(sizeof(state->last_error) - strlen(suffix) - 1);
  snprintf(state->last_error, sizeof(state->last_error), "%.*s%s", room, message, suffix);
}

}  // namespace ruvector::pg::rulake
