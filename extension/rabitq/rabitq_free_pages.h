// The free list of a rabitq index: pages VACUUM took from repacked lists, which appends to
// any list take before extending the file (see rabitq_free_pages.cpp).
#pragma once

#include "extension/rabitq/rabitq.h"

namespace ruvector::pg::rabitq {

// A page for a chain, exclusively locked: the head of the free list, or a new page at the
// end. `meta` is the metapage, exclusively locked, when the page came off the free list or
// the caller asked to keep it; the record that puts the page to use must then register it.
struct TakenPage {
  Buffer page;
  Buffer meta;
};
TakenPage take_page(Relation index, bool keep_meta);

// Registers the taken page (and the metapage, when locked) in `state`, unlinks the page from
// the free list and initialises it as `type`: a page is off the free list exactly when the
// record that uses it is replayed. Returns the page's image; *meta the metapage's, or nullptr.
Page register_taken_page(GenericXLogState* state, const TakenPage& taken, PageType type,
                         RabitqMeta** meta);
void release_taken_page(const TakenPage& taken);

// The metapage's RabitqMeta in a page image about to change: pd_lower is set to cover the
// whole struct, since a metapage written before free lists existed covers less, and the
// generic WAL record does not keep what lies beyond pd_lower.
RabitqMeta* meta_image(Page page);

// Moves the orphaned chains (see RabitqMeta) to the free list, a few pages a record;
// returns how many pages it freed.
uint32 free_orphans(Relation index);

}  // namespace ruvector::pg::rabitq
