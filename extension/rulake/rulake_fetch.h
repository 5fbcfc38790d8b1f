// Remote bundles are fetched by dynamic background workers, one per fetch, so that a slow,
// stalled or endless download never holds up the refill worker, which goes on priming,
// rechecking and folding the other collections meanwhile (docs/rulake.md).
#pragma once

#include "extension/rulake/rulake_source.h"

namespace ruvector::pg::rulake {

// Refill worker only. Starts a worker fetching c's remote bundle into its mirror, unless
// one into the same mirror runs or every slot is taken (a later cycle tries again).
void start_fetch(const Collection& c);

// Refill worker only. Frees the slots of fetch workers that ended without freeing theirs
// (they never started), so a failed start is retried.
void reap_fetches();

// Refill worker only. Removes the mirror directories that no remote collection of this
// database (their URLs in `urls`) and no running fetch uses: an unregistered collection's
// mirror goes within a cycle of the commit.
void remove_unused_mirrors(char** urls, int n);

}  // namespace ruvector::pg::rulake

extern "C" PGDLLEXPORT void rulake_fetch_main(Datum);
