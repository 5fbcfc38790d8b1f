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

// prepare() announces a run(); runs that follow, runs that never come, and runs with more or
// fewer helpers than prepared must all leave every task run once and the pool usable.
TEST(WorkerPool, PreparedOrNotEveryTaskRunsOnce) {
  for (unsigned spin : {0u, ruvector::WorkerPool::kDefaultSpinMicros, 20000u}) {
    ruvector::WorkerPool pool(spin);
    for (int round = 0; round < 200; round++) {
      const std::size_t tasks = 1 + round % 7;
      const unsigned helpers = static_cast<unsigned>(round % 4);
      if (round % 3 != 0) pool.prepare(static_cast<unsigned>((round / 3) % 4));
      if (round % 5 == 0) continue;  // a prepare() with no run()
      std::vector<std::atomic<int>> ran(tasks);
      pool.run(helpers, tasks, [&](std::size_t i) {
        if (round % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
        ran[i]++;
      });
      for (std::size_t i = 0; i < tasks; i++) {
        ASSERT_EQ(ran[i].load(), 1) << "spin " << spin << " round " << round;
      }
    }
    EXPECT_LE(pool.threads(), 3u);
  }
}

// A pool whose helpers spin for a run() that never comes stops at once: the destructor
// ends their spin instead of waiting it out (here a minute).
TEST(WorkerPool, StopsWhileHelpersSpin) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point stopping;
  {
    ruvector::WorkerPool pool(60'000'000);
    pool.prepare(2);
    EXPECT_EQ(pool.threads(), 2u);
    std::atomic<int> ran{0};
    pool.run(2, 3, [&](std::size_t) { ran++; });
    EXPECT_EQ(ran.load(), 3);
    pool.prepare(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the helpers now spin
    stopping = Clock::now();
  }
  EXPECT_LT(Clock::now() - stopping, std::chrono::seconds(30));
}

// Helpers that just ended a run() spin for the next one (here up to a minute); a pool
// stopped then stops at once too.
TEST(WorkerPool, StopsWhileHelpersWaitForTheNextRun) {
  using Clock = std::chrono::steady_clock;
  Clock::time_point stopping;
  std::atomic<int> on_helpers{0};
  {
    ruvector::WorkerPool pool(60'000'000);
    const std::thread::id caller = std::this_thread::get_id();
    pool.run(2, 3, [&](std::size_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (std::this_thread::get_id() != caller) on_helpers++;
    });
    stopping = Clock::now();
  }
  EXPECT_GT(on_helpers.load(), 0) << "no helper ran a task, so none waited after one";
  EXPECT_LT(Clock::now() - stopping, std::chrono::seconds(30));
}

}  // namespace
