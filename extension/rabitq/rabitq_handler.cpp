// The rabitq access method handler: the IndexAmRoutine, reloptions, GUCs and opclass
// validation. Each callback runs under guard() so that no C++ exception reaches Postgres.
#include "extension/rabitq/rabitq.h"

#include <algorithm>

#include "extension/boundary.h"

extern "C" {
#include "access/amvalidate.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "commands/vacuum.h"
#include "commands/progress.h"
#include "utils/guc.h"
#include "utils/syscache.h"
}

namespace ruvector::pg::rabitq {

int probes = 10;
double epsilon = 1.9;
int iterative_scan = kIterativeRelaxed;
int max_scan_tuples = 20000;
int debug_fault = kFaultOff;

namespace {

relopt_kind relopt_kind_rabitq;

const struct config_enum_entry kIterativeScanOptions[] = {
    {"off", kIterativeOff, false},
    {"relaxed_order", kIterativeRelaxed, false},
    {"strict_order", kIterativeStrict, false},
    {nullptr, 0, false},
};

const struct config_enum_entry kDebugFaultOptions[] = {
    {"off", kFaultOff, false},
    {"drop_one", kFaultDropOne, false},
    {"swap_two", kFaultSwapTwo, false},
    {nullptr, 0, false},
};

}  // namespace

void init_reloptions() {
  relopt_kind_rabitq = add_reloption_kind();
  add_int_reloption(relopt_kind_rabitq, "lists",
                    "Number of inverted lists (0: chosen from the row count)", 0, 0, kMaxLists,
                    AccessExclusiveLock);
  add_int_reloption(relopt_kind_rabitq, "bits", "Bits per dimension of the RaBitQ codes",
                    kDefaultBits, 1, kMaxBits, AccessExclusiveLock);
  add_int_reloption(relopt_kind_rabitq, "seed", "Seed of the random rotation", 0, 0, INT_MAX,
                    AccessExclusiveLock);
  add_int_reloption(relopt_kind_rabitq, "sample_factor", "Rows sampled for k-means per list",
                    kDefaultSampleFactor, 1, 1024, AccessExclusiveLock);
  add_int_reloption(relopt_kind_rabitq, "kmeans_iterations", "Lloyd iterations of k-means",
                    kDefaultKmeansIterations, 1, 1000, AccessExclusiveLock);
  add_bool_reloption(relopt_kind_rabitq, "rerank_from_heap",
                     "Rerank with the table's vectors instead of copies in the index", true,
                     AccessExclusiveLock);
}

void init_gucs() {
  DefineCustomIntVariable("rabitq.probes", "Lists probed by a rabitq index scan.",
                          "More probes raise recall and cost; capped at the index's lists.",
                          &probes, 10, 1, kMaxLists, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomRealVariable(
      "rabitq.epsilon", "Multiplier of the RaBitQ error bound used to decide reranks.",
      "A candidate is reranked with its exact distance while its estimate minus epsilon times "
      "its error bound can still beat a result. The scan raises it with the share of lists "
      "probed, to the index's calibrated full-probe epsilon at every list. Lower is faster "
      "and may lose recall.",
      &epsilon, 1.9, 0.0, 4.0, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomEnumVariable(
      "rabitq.iterative_scan", "Whether a scan probes more lists when the first ones run out.",
      "off: only rabitq.probes lists; relaxed_order: keep probing while rows are wanted; "
      "strict_order: also never return a row before a closer one from an unprobed list.",
      &iterative_scan, kIterativeRelaxed, kIterativeScanOptions, PGC_USERSET, 0, nullptr, nullptr,
      nullptr);
  DefineCustomIntVariable("rabitq.max_scan_tuples",
                          "Rows an iterative scan estimates before it probes no further list.",
                          nullptr, &max_scan_tuples, 20000, 1, INT_MAX, PGC_USERSET, 0, nullptr,
                          nullptr, nullptr);
  // Hidden from SHOW ALL, pg_settings and the sample file, and not in docs/: it only exists
  // so that tests/server/rabitq_fault.sh can prove the exactness checks can fail.
  DefineCustomEnumVariable("rabitq.debug_fault", "Breaks rabitq scans on purpose (tests only).",
                           nullptr, &debug_fault, kFaultOff, kDebugFaultOptions, PGC_SUSET,
                           GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
  MarkGUCPrefixReserved("rabitq");
}

bytea* options(Datum reloptions, bool validate) {
  static const relopt_parse_elt table[] = {
      {"lists", RELOPT_TYPE_INT, offsetof(RabitqOptions, lists)},
      {"bits", RELOPT_TYPE_INT, offsetof(RabitqOptions, bits)},
      {"seed", RELOPT_TYPE_INT, offsetof(RabitqOptions, seed)},
      {"sample_factor", RELOPT_TYPE_INT, offsetof(RabitqOptions, sample_factor)},
      {"kmeans_iterations", RELOPT_TYPE_INT, offsetof(RabitqOptions, kmeans_iterations)},
      {"rerank_from_heap", RELOPT_TYPE_BOOL, offsetof(RabitqOptions, rerank_from_heap)},
  };
  return static_cast<bytea*>(build_reloptions(reloptions, validate, relopt_kind_rabitq,
                                              sizeof(RabitqOptions), table, lengthof(table)));
}

char* build_phase_name(int64 phase) {
  switch (phase) {
    case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE:
      return const_cast<char*>("initializing");
    case kPhaseSampling:
      return const_cast<char*>("sampling rows");
    case kPhaseKmeans:
      return const_cast<char*>("performing k-means");
    case kPhaseAssigning:
      return const_cast<char*>("assigning and encoding rows");
    default:
      return nullptr;
  }
}

// The opclass must provide the distance function as support procedure 1 and the three
// ordering operators the metric names; anything else is reported, as amvalidate should.
bool validate(Oid opclassoid) {
  HeapTuple tuple = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
  if (!HeapTupleIsValid(tuple))
    elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
  Form_pg_opclass form = (Form_pg_opclass)GETSTRUCT(tuple);
  Oid family = form->opcfamily;
  char* name = pstrdup(NameStr(form->opcname));
  ReleaseSysCache(tuple);

  bool ok = true;
  CatCList* procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(family));
  bool has_distance = false;
  for (int i = 0; i < procs->n_members; i++) {
    Form_pg_amproc proc = (Form_pg_amproc)GETSTRUCT(&procs->members[i]->tuple);
    if (proc->amprocnum == 1) {
      has_distance = true;
    } else {
      ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                     errmsg("rabitq operator class \"%s\" has unexpected support function %d", name,
                            proc->amprocnum)));
      ok = false;
    }
  }
  ReleaseSysCacheList(procs);
  if (!has_distance) {
    ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                   errmsg("rabitq operator class \"%s\" lacks support function 1", name)));
    ok = false;
  }
  CatCList* ops = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(family));
  for (int i = 0; i < ops->n_members; i++) {
    Form_pg_amop op = (Form_pg_amop)GETSTRUCT(&ops->members[i]->tuple);
    if (op->amoppurpose != AMOP_ORDER || op->amopstrategy != 1) {
      ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                     errmsg("rabitq operator class \"%s\" has an operator that is not the "
                            "ordering operator 1",
                            name)));
      ok = false;
    }
  }
  ReleaseSysCacheList(ops);
  return ok;
}

}  // namespace ruvector::pg::rabitq

namespace rq = ruvector::pg::rabitq;
using ruvector::pg::guard;

// C entry points: every callback the routine hands Postgres runs under guard().
extern "C" {

static IndexBuildResult* rabitq_build(Relation heap, Relation index, IndexInfo* info) {
  return guard([&] { return rq::build(heap, index, info); });
}
static void rabitq_build_empty(Relation index) {
  guard([&] { rq::build_empty(index); });
}
static bool rabitq_insert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid,
                          Relation heap, IndexUniqueCheck check_unique, bool index_unchanged,
                          IndexInfo* info) {
  return guard([&] {
    return rq::insert(index, values, isnull, heap_tid, heap, check_unique, index_unchanged, info);
  });
}
static IndexBulkDeleteResult* rabitq_bulk_delete(IndexVacuumInfo* info,
                                                 IndexBulkDeleteResult* stats,
                                                 IndexBulkDeleteCallback callback,
                                                 void* callback_state) {
  return guard([&] { return rq::bulk_delete(info, stats, callback, callback_state); });
}
static IndexBulkDeleteResult* rabitq_vacuum_cleanup(IndexVacuumInfo* info,
                                                    IndexBulkDeleteResult* stats) {
  return guard([&] { return rq::vacuum_cleanup(info, stats); });
}
static void rabitq_cost_estimate(PlannerInfo* root, IndexPath* path, double loop_count,
                                 Cost* startup_cost, Cost* total_cost, Selectivity* selectivity,
                                 double* correlation, double* pages) {
  guard([&] {
    rq::cost_estimate(root, path, loop_count, startup_cost, total_cost, selectivity, correlation,
                      pages);
  });
}
static bytea* rabitq_options(Datum reloptions, bool validate) {
  return guard([&] { return rq::options(reloptions, validate); });
}
static bool rabitq_validate(Oid opclassoid) {
  return guard([&] { return rq::validate(opclassoid); });
}
static char* rabitq_build_phase_name(int64 phase) { return rq::build_phase_name(phase); }
static IndexScanDesc rabitq_begin_scan(Relation index, int nkeys, int norderbys) {
  return guard([&] { return rq::begin_scan(index, nkeys, norderbys); });
}
static void rabitq_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys,
                          int norderbys) {
  guard([&] { rq::rescan(scan, keys, nkeys, orderbys, norderbys); });
}
static bool rabitq_get_tuple(IndexScanDesc scan, ScanDirection dir) {
  return guard([&] { return rq::get_tuple(scan, dir); });
}
static void rabitq_end_scan(IndexScanDesc scan) {
  guard([&] { rq::end_scan(scan); });
}

PG_FUNCTION_INFO_V1(rabitq_handler);
Datum rabitq_handler(PG_FUNCTION_ARGS) {
  IndexAmRoutine* am = makeNode(IndexAmRoutine);
  am->amstrategies = 0;
  am->amsupport = 1;
  am->amoptsprocnum = 0;
  am->amcanorder = false;
  am->amcanorderbyop = true;
  am->amcanbackward = false;
  am->amcanunique = false;
  am->amcanmulticol = false;
  am->amoptionalkey = true;
  am->amsearcharray = false;
  am->amsearchnulls = false;
  am->amstorage = false;
  am->amclusterable = false;
  am->ampredlocks = false;
  am->amcanparallel = false;
  am->amcaninclude = false;
  am->amusemaintenanceworkmem = false;
  am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
  am->amkeytype = InvalidOid;
#if PG_VERSION_NUM >= 170000
  am->amcanbuildparallel = false;
  am->aminsertcleanup = nullptr;
#endif
#if PG_VERSION_NUM >= 160000
  am->amsummarizing = false;
#endif
  am->ambuild = rabitq_build;
  am->ambuildempty = rabitq_build_empty;
  am->aminsert = rabitq_insert;
  am->ambulkdelete = rabitq_bulk_delete;
  am->amvacuumcleanup = rabitq_vacuum_cleanup;
  am->amcanreturn = nullptr;
  am->amcostestimate = rabitq_cost_estimate;
  am->amoptions = rabitq_options;
  am->amproperty = nullptr;
  am->ambuildphasename = rabitq_build_phase_name;
  am->amvalidate = rabitq_validate;
  am->amadjustmembers = nullptr;
  am->ambeginscan = rabitq_begin_scan;
  am->amrescan = rabitq_rescan;
  am->amgettuple = rabitq_get_tuple;
  am->amgetbitmap = nullptr;
  am->amendscan = rabitq_end_scan;
  am->ammarkpos = nullptr;
  am->amrestrpos = nullptr;
  am->amestimateparallelscan = nullptr;
  am->aminitparallelscan = nullptr;
  am->amparallelrescan = nullptr;
  PG_RETURN_POINTER(am);
}

}  // extern "C"
