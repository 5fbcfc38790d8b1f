// The exact distance of the row an ordered rabitq scan returned last, handed to the
// distance operators. The executor evaluates `v <-> q` again for every row an index scan
// returns (the ORDER BY expression is in the scan's target list); with the type's default
// storage a compressed or out-of-line vector costs a decompression or a TOAST fetch each
// time, for a number the scan has just computed. The operator takes the scan's number
// only when it can prove its arguments are that row's column, read in place from its heap
// page, and that scan's query; otherwise it computes as before.
#pragma once

#include "extension/pg_wrapper.h"
#include "rabitq/metric.h"

extern "C" {
#include "storage/itemptr.h"
#include "utils/relcache.h"
}

namespace ruvector::pg::rabitq {

// The scan that returned `tid` (a row of `heap` whose column `attnum` it ranks) at exact
// `distance` from `query` (dim floats, valid until forget_returned(owner)).
void publish_returned(const void* owner, Relation heap, AttrNumber attnum, ItemPointer tid,
                      ::ruvector::rabitq::Metric metric, const float* query, int dim,
                      double distance);

// Withdraws what `owner` published, if it is still the last publication.
void forget_returned(const void* owner);

// For a distance operator before it detoasts `row`: true and *distance when `row` points at
// the published row's column in its shared buffer and `query` equals the published query.
bool returned_distance(::ruvector::rabitq::Metric metric, Datum row, Datum query, double* distance);

}  // namespace ruvector::pg::rabitq
