#include "ivf/parallel.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ruvector::ivf {

void parallel_for(unsigned threads, std::size_t tasks, const std::function<void(std::size_t)>& fn) {
  if (threads <= 1 || tasks <= 1) {
    for (std::size_t i = 0; i < tasks; i++) fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (;;) {
      std::size_t i = next.fetch_add(1);
      if (i >= tasks) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next.store(tasks);
        return;
      }
    }
  };

  // Threads inherit the creator's signal mask: block everything while spawning.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads && t < tasks; t++) pool.emplace_back(worker);
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    next.store(tasks);
    for (auto& th : pool) th.join();
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  worker();  // the calling thread works too, with its own signal mask
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ruvector::ivf
