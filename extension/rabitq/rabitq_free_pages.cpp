// The free list of a rabitq index. A repack (rabitq_repack.cpp) writes a list's live rows
// into new chains and then hands the old ones to the free list; appends take a free page
// before they extend the file. The list lives in the metapage (free_head, linked by each
// free page's opaque->next), so that every change to it is in the same GenericXLog record
// as the change that makes a page free or puts it to use: after a crash, and on a standby,
// a page is either on the free list or in exactly one chain, never both and never neither.
//
// Chains that no directory entry references are named in the metapage too (orphan_codes,
// orphan_vectors): the repack records there the chains it is writing, until the record
// that swaps them into the directory names the old chains instead. An error or a crash in
// the middle therefore loses no page: the next VACUUM frees whatever is still named there.
//
// Locks: the metapage, then a free or orphaned page. Appends take the metapage after their
// directory and tail pages; nobody takes a directory or chain page while holding the
// metapage, and free and orphaned pages are reachable from the metapage alone.
#include "extension/rabitq/rabitq_free_pages.h"

#include "extension/rabitq/rabitq_items.h"

extern "C" {
#include "utils/rel.h"
}

namespace ruvector::pg::rabitq {

namespace {

Buffer lock_meta(Relation index) {
  Buffer buffer = read_page(index, kMetaBlock, kPageMeta, BUFFER_LOCK_EXCLUSIVE, nullptr);
  return buffer;
}

const RabitqMeta* meta_of(Buffer buffer) {
  return reinterpret_cast<const RabitqMeta*>(PageGetContents(BufferGetPage(buffer)));
}

// Pages freed in one record: the metapage and up to three pages of one orphaned chain.
constexpr int kFreedPerRecord = MAX_GENERIC_XLOG_PAGES - 1;

}  // namespace

RabitqMeta* meta_image(Page page) {
  ((PageHeader)page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + sizeof(RabitqMeta);
  return reinterpret_cast<RabitqMeta*>(PageGetContents(page));
}

TakenPage take_page(Relation index, bool keep_meta) {
  TakenPage taken{InvalidBuffer, lock_meta(index)};
  BlockNumber head = meta_of(taken.meta)->free_head;
  if (head != kNoPage) {
    BlockNumber nblocks = 0;
    taken.page = read_page(index, head, kPageFree, BUFFER_LOCK_EXCLUSIVE, &nblocks);
    return taken;
  }
  if (!keep_meta) {
    UnlockReleaseBuffer(taken.meta);
    taken.meta = InvalidBuffer;
  }
  taken.page = new_page(index, Extension::kShared);
  return taken;
}

Page register_taken_page(GenericXLogState* state, const TakenPage& taken, PageType type,
                         RabitqMeta** meta) {
  RabitqMeta* m = nullptr;
  if (BufferIsValid(taken.meta)) m = meta_image(GenericXLogRegisterBuffer(state, taken.meta, 0));
  Page page = GenericXLogRegisterBuffer(state, taken.page, 0);
  if (m != nullptr && m->free_head == BufferGetBlockNumber(taken.page)) {
    m->free_head = page_opaque(page)->next;
    m->free_pages--;
  }
  init_page(page, type);
  if (meta != nullptr) *meta = m;
  return page;
}

void release_taken_page(const TakenPage& taken) {
  UnlockReleaseBuffer(taken.page);
  if (BufferIsValid(taken.meta)) UnlockReleaseBuffer(taken.meta);
}

uint32 free_orphans(Relation index) {
  uint32 freed = 0;
  for (;;) {
    Buffer meta = lock_meta(index);
    BlockNumber codes = meta_of(meta)->orphan_codes;
    BlockNumber vectors = meta_of(meta)->orphan_vectors;
    if (codes == kNoPage && vectors == kNoPage) {
      UnlockReleaseBuffer(meta);
      return freed;
    }
    const bool of_codes = codes != kNoPage;
    const PageType type = of_codes ? kPageCodes : kPageVectors;
    Buffer pages[kFreedPerRecord];
    int n = 0;
    // A cycle in a damaged chain must not lock a page twice: the record stops before a page
    // it holds, frees what it has, and the next one finds that page free (of the wrong type).
    ChainWalk walk = chain_walk(of_codes ? codes : vectors, type);
    auto held = [&pages, &n](BlockNumber block) {
      for (int i = 0; i < n; i++) {
        if (BufferGetBlockNumber(pages[i]) == block) return true;
      }
      return false;
    };
    while (n < kFreedPerRecord && !held(walk.next) &&
           BufferIsValid(pages[n] = walk_chain(index, &walk, BUFFER_LOCK_EXCLUSIVE))) {
      n++;
    }
    GenericXLogState* state = GenericXLogStart(index);
    RabitqMeta* m = meta_image(GenericXLogRegisterBuffer(state, meta, 0));
    BlockNumber rest = InvalidBlockNumber;
    for (int i = 0; i < n; i++) {
      Page page = GenericXLogRegisterBuffer(state, pages[i], 0);
      rest = page_opaque(page)->next;
      init_page(page, kPageFree);
      page_opaque(page)->next = m->free_head;
      m->free_head = BufferGetBlockNumber(pages[i]);
      m->free_pages++;
    }
    BlockNumber& orphan = of_codes ? m->orphan_codes : m->orphan_vectors;
    orphan = BlockNumberIsValid(rest) ? rest : kNoPage;
    GenericXLogFinish(state);
    for (int i = 0; i < n; i++) UnlockReleaseBuffer(pages[i]);
    UnlockReleaseBuffer(meta);
    freed += n;
  }
}

}  // namespace ruvector::pg::rabitq
