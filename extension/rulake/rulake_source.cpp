// See rulake_source.h. Postgres-facing code is written C-style (palloc, no objects with
// destructors) so that an ereport can unwind it; the core is called in narrow C++ scopes.
#include "extension/rulake/rulake_source.h"

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
#include "utils/lsyscache.h"
}

namespace ruvector::pg::rulake {

namespace core = ::ruvector::rulake;

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

// A table's witness: the bundle witness construction over what identifies the rows (the
// database, the relation and its columns), the seed, the rerank factor and the generation.
// The data digest stays zero: a table's data is covered by its generation instead.
CacheKey table_key(const Collection& c, uint64 generation) {
  char ref[NAMEDATALEN * 3 + 64];
  snprintf(ref, sizeof(ref), "table:%u/%u(%s,%s)", MyDatabaseId, c.relid, c.id_column,
           c.vector_column);
  bundle::Digest witness = guard([&] {
    bundle::Sidecar s;
    s.data_ref = ref;
    s.dim = static_cast<uint32_t>(c.dim);
    s.rotation_seed = c.seed;
    s.rerank_factor = c.rerank_factor;
    s.generation = static_cast<std::uint64_t>(generation);
    return bundle::compute_witness(s);
  });
  return key_of(witness.data(), c);
}

const char* kGenerationQuery =
    "SELECT coalesce(sum(weight), 0)::bigint AS generation,"
    " coalesce(bool_or(rulake._xmin_is_mine(xmin)), false) AS mine"
    " FROM rulake.table_writes WHERE relid = $1";

void read_generation(Oid relid, uint64* generation, bool* own_writes) {
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(relid)};
  SPI_connect();
  if (SPI_execute_with_args(kGenerationQuery, 1, types, values, nullptr, true, 1) != SPI_OK_SELECT)
    elog(ERROR, "rulake: reading the generation of relation %u failed", relid);
  *generation = static_cast<uint64>(int_column(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
  bool isnull = false;
  *own_writes =
      DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
  SPI_finish();
}

// Every non-null row of the table with the generation, in one statement so both come from
// one snapshot; ordered by id so that the same rows always build the same image.
void read_table_rows(const Collection& c, BundleRows* out) {
  if (get_rel_name(c.relid) == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                    errmsg("the table of rulake collection \"%s\" no longer exists", c.name),
                    errhint("Unregister the collection with rulake.unregister.")));
  }
  MemoryContext caller = CurrentMemoryContext;
  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql,
                   "SELECT w.generation, w.mine, t.id, t.v FROM (%s) w LEFT JOIN LATERAL"
                   " (SELECT %s::bigint AS id, %s AS v FROM %s WHERE %s IS NOT NULL) t ON true"
                   " ORDER BY t.id",
                   kGenerationQuery, quote_identifier(c.id_column),
                   quote_identifier(c.vector_column),
                   quote_qualified_identifier(get_namespace_name(get_rel_namespace(c.relid)),
                                              get_rel_name(c.relid)),
                   quote_identifier(c.vector_column));
  memset(out, 0, sizeof(*out));
  uint64 capacity = 1024;
  SPI_connect();
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(c.relid)};
  SPIPlanPtr plan = SPI_prepare(sql.data, 1, types);
  if (plan == nullptr)
    elog(ERROR, "rulake: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  Portal portal = SPI_cursor_open(nullptr, plan, values, nullptr, true);
  bool first = true;
  for (;;) {
    SPI_cursor_fetch(portal, true, 4096);
    if (SPI_processed == 0) break;
    TupleDesc desc = SPI_tuptable->tupdesc;
    for (uint64 r = 0; r < SPI_processed; r++) {
      HeapTuple tuple = SPI_tuptable->vals[r];
      bool isnull = false;
      if (first) {
        out->generation =
            static_cast<uint64>(DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull)));
        out->own_writes = DatumGetBool(SPI_getbinval(tuple, desc, 2, &isnull));
        first = false;
      }
      Datum id = SPI_getbinval(tuple, desc, 3, &isnull);
      if (isnull) continue;  // the empty table's single row
      Datum v = SPI_getbinval(tuple, desc, 4, &isnull);
      RuVector* vec = datum_get_ruvector(v);
      if (out->count == 0) {
        out->dim = static_cast<uint32>(vec->dim);
        MemoryContext old = MemoryContextSwitchTo(caller);
        out->ids = static_cast<int64*>(MemoryContextAllocHuge(caller, sizeof(int64) * capacity));
        out->vectors = static_cast<float*>(
            MemoryContextAllocHuge(caller, sizeof(float) * capacity * out->dim));
        MemoryContextSwitchTo(old);
      } else if (static_cast<uint32>(vec->dim) != out->dim) {
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("rulake collection \"%s\" has rows of %u and of %d dimensions",
                               c.name, out->dim, vec->dim),
                        errhint("Declare the column as ruvector(n) so all rows agree.")));
      }
      if (out->count == capacity) {
        capacity *= 2;
        out->ids = static_cast<int64*>(repalloc_huge(out->ids, sizeof(int64) * capacity));
        out->vectors =
            static_cast<float*>(repalloc_huge(out->vectors, sizeof(float) * capacity * out->dim));
      }
      out->ids[out->count] = DatumGetInt64(id);
      memcpy(out->vectors + out->count * out->dim, vec->x, sizeof(float) * out->dim);
      out->count++;
    }
    SPI_freetuptable(SPI_tuptable);
  }
  SPI_cursor_close(portal);
  SPI_finish();
}

core::IndexParams index_params(const Collection& c, uint32 dim, uint64 seed) {
  core::IndexParams p;
  p.dim = dim;
  p.metric = static_cast<core::Metric>(c.metric);
  p.seed = seed;
  p.lists = c.lists;
  // Priming runs in a backend or the refill worker: a few threads shorten a cold start.
  p.threads = 2;
  return p;
}

// Installs or copies out an image; the vector is freed by the caller's scope.
void finish_prime(const std::vector<unsigned char>& image, uint64 rows, bool share, Primed* out) {
  if (share) {
    out->installed = pg_call(
        [&] { return install_entry(out->key, image.data(), image.size(), rows, &out->added); });
    if (!out->installed) {
      pg_call([&] {
        ereport(WARNING,
                (errmsg("rulake collection index of %zu bytes does not fit in rulake.cache_size "
                        "(%d MB); searching it without caching",
                        image.size(), cache_size_mb)));
      });
    }
  }
  if (!out->installed) {
    out->private_bytes = image.size();
    out->private_image =
        pg_call([&] { return MemoryContextAllocHuge(CurrentMemoryContext, image.size()); });
    memcpy(out->private_image, image.data(), image.size());
  }
}

}  // namespace

bool lookup_collection(const char* name, Collection* out) {
  Oid types[1] = {TEXTOID};
  Datum values[1] = {CStringGetTextDatum(name)};
  MemoryContext caller = CurrentMemoryContext;
  SPI_connect();
  int rc = SPI_execute_with_args(
      "SELECT name, kind, location, consistency, metric, seed, rerank_factor, lists, probes,"
      " owner, relid, id_column, vector_column, dim FROM rulake.collections WHERE name = $1",
      1, types, values, nullptr, true, 1);
  if (rc != SPI_OK_SELECT) elog(ERROR, "rulake: reading rulake.collections failed");
  bool found = SPI_processed == 1;
  if (found) {
    HeapTuple t = SPI_tuptable->vals[0];
    TupleDesc d = SPI_tuptable->tupdesc;
    MemoryContext old = MemoryContextSwitchTo(caller);
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
    MemoryContextSwitchTo(old);
  }
  SPI_finish();
  return found;
}

Collection* require_collection(const char* name) {
  auto* c = static_cast<Collection*>(palloc0(sizeof(Collection)));
  if (!lookup_collection(name, c)) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("rulake collection \"%s\" does not exist", name),
                    errhint("Register it with rulake.register(name, source).")));
  }
  return c;
}

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
    if (row_security_of(c.relid, &exists)) {
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
  // Bundles are server files: reading one needs the right to read server files, whoever
  // registered it (a remote bundle's mirror is one too).
  if (has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                  errmsg("permission denied for rulake collection \"%s\"", c.name),
                  errdetail("Bundles are read by superusers and members of "
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

char* witness_hex(const uint8* witness) {
  char* out = static_cast<char*>(palloc(kWitnessBytes * 2 + 1));
  for (int i = 0; i < kWitnessBytes; i++) snprintf(out + 2 * i, 3, "%02x", witness[i]);
  return out;
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

SourceKey current_key(const Collection& c) {
  SourceKey out;
  memset(&out, 0, sizeof(out));
  out.rerank_factor = c.rerank_factor;
  if (c.kind == kSourceTable) {
    uint64 generation = 0;
    read_generation(c.relid, &generation, &out.own_writes);
    out.present = true;
    out.key = table_key(c, generation);
    return out;
  }
  char* dir = bundle_dir(c);
  struct Result {
    bool present;
    uint8 witness[kWitnessBytes];
    uint32 rerank;
  } r = guard([&] {
    Result res{};
    try {
      bundle::Sidecar s = bundle::read_sidecar_checked(dir);
      res.present = true;
      memcpy(res.witness, s.rvf_witness.data(), kWitnessBytes);
      res.rerank = s.rerank_factor;
    } catch (const bundle::IoError& e) {
      if (e.sys_errno() != ENOENT) throw;
    }
    return res;
  });
  out.present = r.present;
  if (r.present) {
    out.key = key_of(r.witness, c);
    out.rerank_factor = r.rerank;
  }
  return out;
}

Primed prime(const Collection& c) {
  Primed out;
  memset(&out, 0, sizeof(out));
  if (c.kind == kSourceTable) {
    BundleRows rows;
    read_table_rows(c, &rows);
    out.key = table_key(c, rows.generation);
    out.rerank_factor = c.rerank_factor;
    guard([&] {
      std::vector<unsigned char> image =
          core::build_index(index_params(c, rows.dim, c.seed), rows.ids, rows.vectors, rows.count);
      finish_prime(image, rows.count, !rows.own_writes, &out);
    });
    if (rows.ids != nullptr) {
      pfree(rows.ids);
      pfree(rows.vectors);
    }
    return out;
  }
  char* dir = bundle_dir(c);
  guard([&] {
    bundle::LoadedBundle b = bundle::load_bundle(dir);
    memcpy(out.key.witness, b.sidecar.rvf_witness.data(), kWitnessBytes);
    out.key.metric = c.metric;
    out.key.lists = c.lists;
    out.rerank_factor = b.sidecar.rerank_factor;
    std::vector<unsigned char> image =
        core::build_index(index_params(c, b.sidecar.dim, b.sidecar.rotation_seed),
                          b.data.ids.data(), b.data.rows.data(), b.data.ids.size());
    finish_prime(image, b.data.ids.size(), true, &out);
  });
  return out;
}

void read_rows(const Collection& c, BundleRows* out) {
  if (c.kind != kSourceTable) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("rulake collection \"%s\" is already a bundle", c.name),
                    errhint("publish_bundle publishes table collections; copy the bundle "
                            "directory to publish it elsewhere.")));
  }
  read_table_rows(c, out);
  out->seed = c.seed;
  out->rerank_factor = c.rerank_factor;
}

void note_primed(const Collection& c, const Primed& p) {
  RulakeShared* s = shared();
  LWLockAcquire(s->lock, LW_EXCLUSIVE);
  CollectionState* state = find_collection(c.name, true);
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

}  // namespace ruvector::pg::rulake
