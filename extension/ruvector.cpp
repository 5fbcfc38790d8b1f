// Module entry: the magic block and _PG_init, which fixes process-wide choices once.
#include "extension/boundary.h"

#include "extension/a2a/a2a.h"
#include "extension/gpu/gpu.h"
#include "extension/rabitq/rabitq.h"
#include "extension/role_hooks.h"
#include "extension/rulake/rulake.h"
#include "kernels/cpu/distance.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void) {
  // Pick the distance kernels for this CPU now rather than on the first query.
  ruvector::pg::guard([] { (void)ruvector::kernels::distance_kernels(); });
  ruvector::pg::rabitq::init_reloptions();
  ruvector::pg::rabitq::init_gucs();
  ruvector::pg::rulake::init_gucs();
  ruvector::pg::a2a::init_gucs();
  ruvector::pg::gpu::init_gucs();
  ruvector::pg::init_role_hooks();
  // ruLake's cache and refill worker exist only when the server preloads us; without that
  // its functions say so (rulake::shared()).
  if (process_shared_preload_libraries_in_progress) {
    ruvector::pg::rulake::init_shmem_hooks();
    ruvector::pg::rulake::register_worker();
    ruvector::pg::a2a::register_worker();
    ruvector::pg::a2a::register_endpoint_worker();
  }
}
}
