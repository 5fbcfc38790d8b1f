// Priming: reading a collection's rows and building its image, in bounded memory. The rows
// stream from the source into core::IndexBuilder, which stores them once, in the memory
// that becomes the image; the limits (src/rulake/prime_limits.h) are checked on an
// estimate of the rows before any is read, and on the rows as they arrive.
//
// A table is read through an SPI cursor a batch at a time: each Postgres call runs under
// pg_call inside the C++ scope that owns the builder, so an error unwinds the builder
// before it is raised. A bundle streams from its vectors file (bundle::stream_bundle).
#include "extension/rulake/rulake_source.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <optional>
#include <string>

#include "bundle/verify.h"
#include "bundle/witness.h"
#include "extension/boundary.h"
#include "extension/vector/vector_type.h"
#include "rulake/collection_index.h"
#include "rulake/prime_limits.h"

extern "C" {
#include "executor/spi.h"
#include "nodes/plannodes.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
}

namespace ruvector::pg::rulake {

namespace core = ::ruvector::rulake;

namespace {

// Rows fetched from the cursor at a time: about 4 MB of vectors, at most 4096 rows.
constexpr Size kBatchBytes = 4 * 1024 * 1024;
constexpr uint64 kMaxBatchRows = 4096;

uint64 batch_rows(uint32 dim) {
  if (dim == 0) return 1;  // undeclared dimensions: one row tells them
  return std::max<uint64>(1, std::min<uint64>(kMaxBatchRows, kBatchBytes / (sizeof(float) * dim)));
}

core::PrimeLimits prime_limits() {
  core::PrimeLimits limits;
  limits.cache_bytes = static_cast<uint64>(cache_size_mb) * 1024 * 1024;
  limits.memory_bytes = static_cast<uint64>(max_prime_memory_mb) * 1024 * 1024;
  return limits;
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

// A table being read: every non-null row with the generation, in one statement so both
// come from one snapshot, ordered by id so that the same rows always build the same image.
struct TableCursor {
  Portal portal;
  MemoryContext batch_context;  // one batch's rows, reset for the next
  double estimate;              // the planner's row count
  bool started;
  uint64 generation;
  bool own_writes;
  char* snapshot;  // pg_snapshot text of the rows read, in `caller`
  MemoryContext caller;
  uint32 dim;  // of the rows read so far; 0 before the first
};

// One fetched batch, in cursor->batch_context.
struct TableBatch {
  uint64 count;
  int64* ids;
  float* vectors;
};

void free_private_bytes(void* arg) {
  auto* image = static_cast<PrivateImage*>(arg);
  std::free(image->bytes);
  image->bytes = nullptr;
  image->size = 0;
}

// Postgres code, inside SPI: whether the table and, for a partitioned one, each of its
// leaf partitions has statistics (reltuples is -1 until the first VACUUM or ANALYZE).
bool all_leaves_analyzed(Oid relid) {
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(relid)};
  // pg_partition_tree lists nothing for a plain table: it is its own leaf.
  if (SPI_execute_with_args("SELECT coalesce(bool_and(c.reltuples >= 0), false) FROM pg_class c"
                            " WHERE (c.oid = $1 AND c.relkind = 'r')"
                            " OR c.oid IN (SELECT relid FROM pg_partition_tree($1) WHERE isleaf)",
                            1, types, values, nullptr, true, 1) != SPI_OK_SELECT ||
      SPI_processed != 1) {
    elog(ERROR, "rulake: reading the statistics of relation %u failed", relid);
  }
  bool isnull = false;
  Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
  return !isnull && DatumGetBool(d);
}

// Postgres code: runs under pg_call. Connects SPI; the caller closes with close_table_cursor.
void open_table_cursor(const Collection& c, TableCursor* out) {
  if (get_rel_name(c.relid) == nullptr) {
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                    errmsg("the table of rulake collection \"%s\" no longer exists", c.name),
                    errhint("Unregister the collection with rulake.unregister.")));
  }
  memset(out, 0, sizeof(*out));
  out->caller = CurrentMemoryContext;
  out->batch_context =
      AllocSetContextCreate(CurrentMemoryContext, "rulake prime batch", ALLOCSET_DEFAULT_SIZES);
  StringInfoData sql;
  initStringInfo(&sql);
  appendStringInfo(&sql,
                   "SELECT w.generation, w.mine, t.id, t.v, w.snapshot FROM"
                   " (SELECT g.*, pg_current_snapshot()::text AS snapshot FROM (%s) g) w"
                   " LEFT JOIN LATERAL"
                   " (SELECT %s::bigint AS id, %s AS v FROM %s WHERE %s IS NOT NULL) t ON true"
                   " ORDER BY t.id",
                   kGenerationQuery, quote_identifier(c.id_column),
                   quote_identifier(c.vector_column),
                   quote_qualified_identifier(get_namespace_name(get_rel_namespace(c.relid)),
                                              get_rel_name(c.relid)),
                   quote_identifier(c.vector_column));
  SPI_connect();
  Oid types[1] = {OIDOID};
  Datum values[1] = {ObjectIdGetDatum(c.relid)};
  SPIPlanPtr plan = SPI_prepare(sql.data, 1, types);
  if (plan == nullptr)
    elog(ERROR, "rulake: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
  // The planner's estimate of the rows, before any is read: it follows the table's size
  // on disk even when its statistics are old (and partitions, and the IS NOT NULL). A
  // table never analyzed has no row width either, and the planner's guess for a ruvector
  // column (32 bytes) made a 60k-row table of compressed 784-d rows look like 940k rows
  // and 2.9 GB: then there is no estimate, and the builder's budget refuses as rows come.
  if (all_leaves_analyzed(c.relid)) {
    CachedPlan* generic = SPI_plan_get_cached_plan(plan);
    if (generic != nullptr) {
      out->estimate = linitial_node(PlannedStmt, generic->stmt_list)->planTree->plan_rows;
      ReleaseCachedPlan(generic, nullptr);
    }
  }
  out->portal = SPI_cursor_open(nullptr, plan, values, nullptr, true);
}

// Postgres code: runs under pg_call. The next batch of rows; count 0 at the end (the first
// batch of an empty table too: its one row holds only the generation).
TableBatch fetch_table_batch(const Collection& c, TableCursor* cursor) {
  MemoryContextReset(cursor->batch_context);
  uint32 dim = cursor->dim != 0 ? cursor->dim : static_cast<uint32>(c.dim);
  SPI_cursor_fetch(cursor->portal, true, static_cast<long>(batch_rows(dim)));
  TableBatch out{0, nullptr, nullptr};
  if (SPI_processed == 0) return out;
  TupleDesc desc = SPI_tuptable->tupdesc;
  MemoryContext old = MemoryContextSwitchTo(cursor->batch_context);
  for (uint64 r = 0; r < SPI_processed; r++) {
    HeapTuple tuple = SPI_tuptable->vals[r];
    bool isnull = false;
    if (!cursor->started) {
      cursor->generation =
          static_cast<uint64>(DatumGetInt64(SPI_getbinval(tuple, desc, 1, &isnull)));
      cursor->own_writes = DatumGetBool(SPI_getbinval(tuple, desc, 2, &isnull));
      cursor->snapshot = MemoryContextStrdup(cursor->caller, SPI_getvalue(tuple, desc, 5));
      cursor->started = true;
    }
    Datum id = SPI_getbinval(tuple, desc, 3, &isnull);
    if (isnull) continue;  // the empty table's single row
    // Detoasted here, in the batch's context: a batch's copies go with it.
    RuVector* vec = datum_get_ruvector(SPI_getbinval(tuple, desc, 4, &isnull));
    if (cursor->dim == 0) cursor->dim = static_cast<uint32>(vec->dim);
    if (static_cast<uint32>(vec->dim) != cursor->dim) {
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("rulake collection \"%s\" has rows of %u and of %d dimensions", c.name,
                             cursor->dim, vec->dim),
                      errhint("Declare the column as ruvector(n) so all rows agree.")));
    }
    if (out.ids == nullptr) {
      out.ids = static_cast<int64*>(palloc(sizeof(int64) * SPI_processed));
      out.vectors = static_cast<float*>(MemoryContextAllocHuge(
          cursor->batch_context, sizeof(float) * SPI_processed * cursor->dim));
    }
    out.ids[out.count] = DatumGetInt64(id);
    memcpy(out.vectors + out.count * cursor->dim, vec->x, sizeof(float) * cursor->dim);
    out.count++;
  }
  MemoryContextSwitchTo(old);
  SPI_freetuptable(SPI_tuptable);
  return out;
}

void close_table_cursor(TableCursor* cursor) {
  SPI_cursor_close(cursor->portal);
  SPI_finish();
  MemoryContextDelete(cursor->batch_context);
}

// Builds the rows into an image and installs it, or keeps it as this search's private
// image. An image for the cache is built in the chunk of the cache that will hold it,
// taken (and the entries evicted for it) before the build: the rows move into it as the
// builder gives up their memory, so a prime never holds two images. Until it is installed
// no search can see the chunk, and an error in the build frees it.
void finish_prime(const Collection& c, core::IndexBuilder* builder, bool share, Use use,
                  const char* snapshot, Primed* out) {
  const uint64 rows = builder->rows();
  const void* built = nullptr;  // the image in a chunk the cache did not take
  Size bytes = 0;
  dsa_pointer chunk = InvalidDsaPointer;
  if (share) {
    bytes = builder->image_size();
    const uint64 last_used =
        use == Use::kSearch ? kUsedNow : pg_call([&] { return search_tick(c.name); });
    chunk = pg_call([&] { return reserve_entry(bytes); });
    if (DsaPointerIsValid(chunk)) {
      try {
        built = pg_call([&] { return dsa_get_address(area(), chunk); });
        builder->finish_into(const_cast<void*>(built), bytes);
      } catch (...) {
        pg_call([&] { discard_reserved(chunk); });
        throw;
      }
      out->installed = pg_call([&] {
        return install_reserved(out->key, chunk, bytes, rows, last_used, &out->added, snapshot);
      });
    }
    if (!out->installed) {
      pg_call([&] {
        ereport(WARNING,
                (errmsg("rulake collection index of %zu bytes does not fit in rulake.cache_size "
                        "(%d MB) now; searching it without caching",
                        bytes, cache_size_mb)));
      });
    }
  }
  if (out->installed) return;
  core::Image image;
  if (built != nullptr) {
    // Built, then refused (no slot free, or no room left for its snapshot): a rare path,
    // where the image is copied out for this search alone.
    auto* copy = static_cast<unsigned char*>(std::malloc(bytes));
    if (copy != nullptr) memcpy(copy, built, bytes);
    pg_call([&] { discard_reserved(chunk); });
    if (copy == nullptr) throw std::bad_alloc();
    image = core::Image(copy, bytes);
  } else {
    image = builder->finish();
  }
  out->private_image = pg_call([&] {
    auto* p = static_cast<PrivateImage*>(palloc0(sizeof(PrivateImage)));
    p->callback.func = free_private_bytes;
    p->callback.arg = p;
    MemoryContextRegisterResetCallback(CurrentMemoryContext, &p->callback);
    return p;
  });
  out->private_image->size = image.size();
  out->private_image->bytes = image.release();
}

Primed prime_table(const Collection& c, Use use) {
  Primed out;
  memset(&out, 0, sizeof(out));
  TableCursor cursor;
  guard([&] {
    pg_call([&] { open_table_cursor(c, &cursor); });
    TableBatch batch = pg_call([&] { return fetch_table_batch(c, &cursor); });
    // Undeclared dimensions are known from the first row; an empty table of undeclared
    // dimensions has none, and the builder refuses dimension 0 as the image would.
    core::IndexParams params =
        index_params(c, cursor.dim != 0 ? cursor.dim : static_cast<uint32>(c.dim), c.seed);
    core::PrimeLimits limits = prime_limits();
    core::check_prime_limits(c.name, limits, params,
                             static_cast<uint64>(std::ceil(std::max(cursor.estimate, 0.0))),
                             "estimated by the planner");
    core::IndexBuilder builder(params, core::prime_budget(c.name, limits, params));
    while (batch.count > 0) {
      builder.add(batch.ids, batch.vectors, batch.count);
      batch = pg_call([&] { return fetch_table_batch(c, &cursor); });
    }
    pg_call([&] { close_table_cursor(&cursor); });
    // A foreign table has no write log to fold into overlays: no snapshot kept for them.
    out.key = compute_table_key(c, c.foreign ? foreign_generation() : cursor.generation);
    out.rerank_factor = c.rerank_factor;
    finish_prime(c, &builder, !cursor.own_writes, use, c.foreign ? nullptr : cursor.snapshot, &out);
  });
  return out;
}

// Feeds a bundle's vectors file into a builder once its sidecar and header are known.
class BundlePrimer : public bundle::BundleSink {
 public:
  BundlePrimer(const Collection& c, const core::PrimeLimits& limits) : c_(c), limits_(limits) {}

  void sidecar(const bundle::Sidecar& s) override { sidecar_ = s; }
  void header(const bundle::VectorsHeader& h) override {
    dim_ = h.dim;
    core::IndexParams params = index_params(c_, h.dim, sidecar_.rotation_seed);
    core::check_prime_limits(c_.name, limits_, params, h.count, "announced by its vectors file");
    builder_.emplace(params, core::prime_budget(c_.name, limits_, params));
  }
  void ids(const std::int64_t* ids, std::size_t n) override { builder_->add_ids(ids, n); }
  void rows(const float* rows, std::size_t n) override {
    // A non-finite value stops the build; stream_bundle then reports it, or a changed
    // digest first, which is the better explanation of a bad value.
    if (bad_value_) return;
    for (std::size_t i = 0; i < n * dim_; i++) {
      if (!std::isfinite(rows[i])) {
        bad_value_ = true;
        return;
      }
    }
    builder_->add_vectors(rows, n);
  }

  core::IndexBuilder& builder() { return *builder_; }

 private:
  const Collection& c_;
  core::PrimeLimits limits_;
  bundle::Sidecar sidecar_;
  std::size_t dim_ = 0;
  std::optional<core::IndexBuilder> builder_;
  bool bad_value_ = false;
};

Primed prime_bundle(const Collection& c, Use use) {
  Primed out;
  memset(&out, 0, sizeof(out));
  char* dir = bundle_dir(c);
  const char* root = bundle_read_root(c);
  uint8 refused[kWitnessBytes];
  bool pinned_ok = guard([&] {
    BundlePrimer primer(c, prime_limits());
    bundle::ReadOptions options;
    options.bundle_root = root;
    bundle::Sidecar s = bundle::stream_bundle(dir, &primer, options);
    // The bundle may have been replaced since its witness was checked: check what was read.
    if (!witness_allowed(c, s.rvf_witness.data())) {
      memcpy(refused, s.rvf_witness.data(), kWitnessBytes);
      return false;
    }
    memcpy(out.key.witness, bundle::cache_witness(s).data(), kWitnessBytes);
    out.key.metric = c.metric;
    out.key.lists = c.lists;
    out.rerank_factor = s.rerank_factor;
    finish_prime(c, &primer.builder(), true, use, nullptr, &out);
    return true;
  });
  if (!pinned_ok) refuse_bundle(c, refused);
  return out;
}

}  // namespace

Primed prime(const Collection& c, Use use) {
  return c.kind == kSourceTable ? prime_table(c, use) : prime_bundle(c, use);
}

void free_private_image(PrivateImage* image) {
  if (image != nullptr) free_private_bytes(image);
}

void read_rows(const Collection& c, BundleRows* out) {
  if (c.kind != kSourceTable) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("rulake collection \"%s\" is already a bundle", c.name),
                    errhint("publish_bundle publishes table collections; copy the bundle "
                            "directory to publish it elsewhere.")));
  }
  memset(out, 0, sizeof(*out));
  MemoryContext caller = CurrentMemoryContext;
  TableCursor cursor;
  open_table_cursor(c, &cursor);
  uint64 capacity = 0;
  for (;;) {
    TableBatch batch = fetch_table_batch(c, &cursor);
    if (batch.count == 0) break;
    out->dim = cursor.dim;
    if (out->count + batch.count > capacity) {
      capacity = std::max(capacity * 2, out->count + batch.count);
      Size id_bytes = sizeof(int64) * capacity;
      Size row_bytes = sizeof(float) * capacity * out->dim;
      if (out->ids == nullptr) {
        out->ids = static_cast<int64*>(MemoryContextAllocHuge(caller, id_bytes));
        out->vectors = static_cast<float*>(MemoryContextAllocHuge(caller, row_bytes));
      } else {
        out->ids = static_cast<int64*>(repalloc_huge(out->ids, id_bytes));
        out->vectors = static_cast<float*>(repalloc_huge(out->vectors, row_bytes));
      }
    }
    memcpy(out->ids + out->count, batch.ids, sizeof(int64) * batch.count);
    memcpy(out->vectors + out->count * out->dim, batch.vectors,
           sizeof(float) * batch.count * out->dim);
    out->count += batch.count;
  }
  close_table_cursor(&cursor);
  out->generation = cursor.generation;
  out->own_writes = cursor.own_writes;
  out->seed = c.seed;
  out->rerank_factor = c.rerank_factor;
}

}  // namespace ruvector::pg::rulake
