// Runs tasks 0..n-1 on up to `threads` std::threads. The process may be a Postgres
// backend: workers run with every signal blocked (handlers must run on the main thread),
// call nothing in Postgres, and an exception in a worker is rethrown on the caller's
// thread after all workers joined. Results must not depend on which thread ran a task.
#pragma once

#include <cstddef>
#include <functional>

namespace ruvector::ivf {

void parallel_for(unsigned threads, std::size_t tasks, const std::function<void(std::size_t)>& fn);

}  // namespace ruvector::ivf
