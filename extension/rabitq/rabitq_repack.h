// VACUUM's repack of lists that are mostly tombstones (see rabitq_repack.cpp).
#pragma once

#include "extension/rabitq/rabitq.h"

namespace ruvector::pg::rabitq {

struct RepackResult {
  uint32 lists;        // lists repacked
  uint32 pages_freed;  // pages moved to the free list, orphans of an interrupted repack included
  bool locked_out;     // some list qualified but the index lock was not to be had
  bool in_parallel;    // some list qualified but VACUUM runs in parallel mode
};

// Repacks every list with more tombstones than live rows, under an
// AccessExclusiveLock on the index taken without waiting on anyone.
RepackResult repack_lists(IndexVacuumInfo* info);

// Starts a background worker that repacks the index once the VACUUM now running on its
// table ends (rabitq_repack_worker.cpp): what a parallel VACUUM does instead of repacking.
// False when no worker slot is free.
bool start_repack_worker(Relation index);

}  // namespace ruvector::pg::rabitq
