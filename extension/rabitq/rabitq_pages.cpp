// Page-level helpers of the rabitq index shared by build, insert, scan and vacuum: page
// initialisation and checks, the metapage, the metric of an index, and the rotation.
#include "extension/rabitq/rabitq.h"
#include "extension/rabitq/rabitq_items.h"

#include <algorithm>

#include <cmath>

#include "kernels/cpu/distance.h"
#include "rabitq/rotator.h"
#include "vector/vector_math.h"
#include "vector/vector_text.h"

extern "C" {
#include "storage/lmgr.h"
#include "utils/rel.h"

// The distance functions of the opclasses, defined in extension/vector/vector_ops.cpp.
Datum ruvector_l2_distance(PG_FUNCTION_ARGS);
Datum ruvector_negative_inner_product(PG_FUNCTION_ARGS);
Datum ruvector_cosine_distance(PG_FUNCTION_ARGS);
}

namespace ruvector::pg::rabitq {

void init_page(Page page, PageType type) {
  PageInit(page, BLCKSZ, sizeof(RabitqPageOpaque));
  RabitqPageOpaque* opaque = page_opaque(page);
  opaque->next = InvalidBlockNumber;
  opaque->type = type;
  opaque->page_id = kPageId;
}

Buffer new_page(Relation index, Extension extension) {
  bool lock_extension = extension == Extension::kShared && !RELATION_IS_LOCAL(index);
  if (lock_extension) LockRelationForExtension(index, ExclusiveLock);
  Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
  if (lock_extension) UnlockRelationForExtension(index, ExclusiveLock);
  return buffer;
}

void report_bad_page(Page, BlockNumber block, PageType, Relation index) {
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("rabitq index \"%s\" has an unexpected page at block %u",
                         RelationGetRelationName(index), block),
                  errhint("REINDEX the index.")));
  pg_unreachable();
}

RabitqMeta read_meta(Relation index) {
  Buffer buffer = read_page(index, kMetaBlock, kPageMeta, BUFFER_LOCK_SHARE, nullptr);
  RabitqMeta meta;
  memcpy(&meta, PageGetContents(BufferGetPage(buffer)), sizeof(meta));
  UnlockReleaseBuffer(buffer);
  if (meta.magic != kMagic || meta.version != kFormatVersion) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("rabitq index \"%s\" has format version %u, this build reads %u",
                           RelationGetRelationName(index), meta.version, kFormatVersion),
                    errhint("REINDEX the index.")));
  }
  if (meta.bits != 1 && (meta.bits < ::ruvector::rabitq::kMinExBits || meta.bits > kMaxBits)) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("rabitq index \"%s\" has codes of %u bits, this build reads 1 to %d",
                           RelationGetRelationName(index), meta.bits, kMaxBits),
                    errhint("REINDEX the index.")));
  }
  // The shape every item size and page count is computed from: a damaged one would make
  // the checks of rabitq_items.h check the wrong thing.
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  if (meta.dim < 1 || meta.dim > static_cast<uint32>(::ruvector::vector::kMaxDim) ||
      meta.padded_dim != padded_dimensions(meta.dim) || meta.lists < 1 || meta.lists > kMaxLists ||
      meta.metric < static_cast<uint16>(Metric::kL2) ||
      meta.metric > static_cast<uint16>(Metric::kCosine) ||
      code_tuple_size(meta.padded_dim, meta.bits) > kMaxItemSize ||
      (meta.bits > 1 && ex_item_size(meta.padded_dim, meta.bits) > kMaxItemSize) ||
      meta.centroid_start <= kMetaBlock || meta.centroid_start >= nblocks ||
      meta.directory_start <= kMetaBlock || meta.directory_start >= nblocks ||
      (meta.projection_rank > 0 &&
       (meta.projection_rank % 4 != 0 || meta.projection_rank > kMaxProjectionRank ||
        meta.projection_rank > meta.padded_dim || meta.projection_start <= kMetaBlock ||
        meta.projection_start >= nblocks))) {
    ereport(ERROR,
            (errcode(ERRCODE_INDEX_CORRUPTED),
             errmsg("rabitq index \"%s\" has a corrupted metapage", RelationGetRelationName(index)),
             errhint("REINDEX the index.")));
  }
  return meta;
}

Metric index_metric(Relation index) {
  FmgrInfo* proc = index_getprocinfo(index, 1, 1);
  if (proc->fn_addr == ruvector_l2_distance) return Metric::kL2;
  if (proc->fn_addr == ruvector_negative_inner_product) return Metric::kInnerProduct;
  if (proc->fn_addr == ruvector_cosine_distance) return Metric::kCosine;
  ereport(ERROR, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
                  errmsg("rabitq index \"%s\": support function 1 is not a ruvector distance",
                         RelationGetRelationName(index))));
  pg_unreachable();
}

uint32 padded_dimensions(int dim) { return (static_cast<uint32>(dim) + 63) / 64 * 64; }

void rotate_rows(int dim, uint64 seed, uint32 n, const float* in, float* out) {
  // The rotator owns heap memory: it lives only in this frame, which makes no Postgres call.
  ::ruvector::rabitq::Rotator rotator(static_cast<uint32_t>(dim), seed);
  uint32 padded = rotator.padded_dim();
  for (uint32 i = 0; i < n; i++) {
    rotator.rotate(in + static_cast<Size>(i) * dim, out + static_cast<Size>(i) * padded);
  }
}

}  // namespace ruvector::pg::rabitq
