// Cost of a rabitq index scan for the planner. The first rows cost the probed lists (the
// centroids, their code pages, a few reranks): that is the startup cost. An iterative scan
// can go on through every list, reranking each row it returns, and that is the total cost.
// The planner charges a LIMIT k plan startup + (total - startup) * k / rows, where rows
// already counts the WHERE clause's selectivity s: a filtered scan pays for about k / s
// rows, so at a low s the btree/bitmap + sort plan wins, as it should (pgvector's
// ivfflat and hnsw cost the same way). A scan without ORDER BY cannot use the index.
#include "extension/rabitq/rabitq.h"

#include <algorithm>

#include <cmath>

extern "C" {
#include "optimizer/optimizer.h"
#include "utils/float.h"
#include "utils/selfuncs.h"
#include "utils/spccache.h"
}

namespace ruvector::pg::rabitq {

void cost_estimate(PlannerInfo* root, IndexPath* path, double loop_count, Cost* startup_cost,
                   Cost* total_cost, Selectivity* selectivity, double* correlation, double* pages) {
  if (path->indexorderbys == NIL) {
    *startup_cost = get_float8_infinity();
    *total_cost = get_float8_infinity();
    *selectivity = 0;
    *correlation = 0;
    *pages = 0;
    return;
  }
  GenericCosts costs;
  memset(&costs, 0, sizeof(costs));
  IndexOptInfo* index = path->indexinfo;

  Relation rel = index_open(index->indexoid, NoLock);
  RabitqMeta meta = read_meta(rel);
  index_close(rel, NoLock);

  double lists = std::max<uint32>(meta.lists, 1);
  double ratio = std::min(1.0, std::min<double>(probes, lists) / lists);
  double tuples = std::max(index->tuples, 0.0);
  double scanned = tuples * ratio;
  // Code pages hold this many rows each; the rest of the index is raw vectors.
  double per_page =
      std::max(1.0, static_cast<double>(kPagePayload) /
                        (code_tuple_size(meta.padded_dim, meta.bits) + sizeof(ItemIdData)));
  double code_pages = std::ceil(scanned / per_page);
  double all_code_pages = std::ceil(tuples / per_page);
  // A LIMIT k scan reranks about k rows plus those whose bounds overlap: a few tens.
  double reranks = std::min(scanned, 20.0);

  costs.numIndexTuples = scanned;
  genericcostestimate(root, path, loop_count, &costs);

  double spc_random_page_cost;
  get_tablespace_page_costs(index->reltablespace, &spc_random_page_cost, nullptr);
  double centroid_cost = lists * meta.padded_dim / 64.0 * cpu_operator_cost;
  double row_cost = cpu_index_tuple_cost + cpu_operator_cost;
  Cost startup = (code_pages + reranks) * spc_random_page_cost + scanned * row_cost + centroid_cost;
  // Going on past the first probes: the other lists' code pages and rows, and a rerank
  // (a vector read) for each further row returned.
  Cost rest = (all_code_pages - code_pages + (tuples - reranks)) * spc_random_page_cost +
              (tuples - scanned) * row_cost;

  *startup_cost = startup;
  *total_cost = startup + std::max(rest, 0.0);
  *selectivity = costs.indexSelectivity;
  *correlation = 0;
  *pages = code_pages + reranks;
}

}  // namespace ruvector::pg::rabitq
