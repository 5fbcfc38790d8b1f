// The backend's worker pool (src/util/worker_pool.h): every task runs once per run(), on
// threads started once, with every signal blocked; a task's exception reaches the caller.
#include <gtest/gtest.h>

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "util/worker_pool.h"

namespace {

TEST(WorkerPool, RunsEveryTaskOnceAcrossManyRuns) {
  ruvector::WorkerPool pool;
  for (int round = 0; round < 300; round++) {
    const std::size_t tasks = 1 + round % 9;
    std::vector<std::atomic<int>> ran(tasks);
    pool.run(3, tasks, [&](std::size_t i) { ran[i]++; });
    for (std::size_t i = 0; i < tasks; i++) ASSERT_EQ(ran[i].load(), 1) << "round " << round;
  }
  EXPECT_EQ(pool.threads(), 3u);  // started on the first run that needed them, then reused
}

TEST(WorkerPool, StartsNoMoreThreadsThanTasksNeed) {
  ruvector::WorkerPool pool;
  std::atomic<int> sum{0};
  pool.run(0, 5, [&](std::size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(pool.threads(), 0u);
  pool.run(8, 3, [&](std::size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(pool.threads(), 2u);
  EXPECT_EQ(sum.load(), 10 + 3);
}

TEST(WorkerPool, HelpersRunWithEverySignalBlocked) {
  ruvector::WorkerPool pool;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_helpers{0}, unblocked{0};
  for (int round = 0; round < 20; round++) {
    pool.run(3, 8, [&](std::size_t) {
      // Long enough that the helpers take some of the tasks.
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      if (std::this_thread::get_id() == caller) return;
      on_helpers++;
      sigset_t mask;
      pthread_sigmask(SIG_SETMASK, nullptr, &mask);
      for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGALRM})
        if (!sigismember(&mask, sig)) unblocked++;
    });
  }
  EXPECT_GT(on_helpers.load(), 0) << "no helper ever ran a task";
  EXPECT_EQ(unblocked.load(), 0);
}

TEST(WorkerPool, RethrowsATasksErrorAndStaysUsable) {
  ruvector::WorkerPool pool;
  EXPECT_THROW(pool.run(3, 50,
                        [&](std::size_t i) {
                          if (i == 7) throw std::runtime_error("task 7");
                        }),
               std::runtime_error);
  std::atomic<int> ran{0};
  pool.run(3, 20, [&](std::size_t) { ran++; });
  EXPECT_EQ(ran.load(), 20);
}

}  // namespace
