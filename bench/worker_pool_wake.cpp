// What waking the worker pool's helper (src/util/worker_pool.h) costs, on the pool alone:
// a search-like job of SERIAL µs of work on the calling thread (a federated search's
// catalog query, pins and merge) and then 4 tasks of TASK µs each, GAP µs between jobs.
// Four ways, alternated 2000 times, medians:
//   serial        every task on the calling thread;
//   sleeping      one helper, in a pool that never spins (spin_micros 0): it wakes from
//                 sleep when the tasks are posted, and the caller sleeps until it ends;
//   spinning end  one helper in a default pool, posted without prepare(): the caller
//                 spins while the helper finishes;
//   prepared      as a federated search does it: prepare() before the serial work, so the
//                 helper is awake and spinning when the tasks come.
// Two threads would ideally take SERIAL + half the tasks; the rest is waking threads.
//   cmake --build BUILD --target bench_worker_pool_wake
//   BUILD/bench_worker_pool_wake [TASK] [GAP] [SERIAL]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "util/worker_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

void busy(double us) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double, std::micro>(Clock::now() - t0).count() < us) {
  }
}

double micros_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const double task = argc > 1 ? std::atof(argv[1]) : 100;
  const double gap = argc > 2 ? std::atof(argv[2]) : 50;
  const double serial_part = argc > 3 ? std::atof(argv[3]) : 40;
  constexpr int kRuns = 2000;
  constexpr int kWays = 4;
  const char* names[kWays] = {"serial", "sleeping", "spinning end", "prepared"};
  ruvector::WorkerPool sleeping(0);
  ruvector::WorkerPool spinning;
  std::vector<double> micros[kWays];
  for (int r = 0; r < kRuns; r++) {
    for (int way = 0; way < kWays; way++) {
      ruvector::WorkerPool& pool = way == 1 ? sleeping : spinning;
      const auto t0 = Clock::now();
      if (way == 3) pool.prepare(1);
      busy(serial_part);
      pool.run(way == 0 ? 0 : 1, 4, [&](std::size_t) { busy(task); });
      micros[way].push_back(micros_since(t0));
      busy(gap);
    }
  }
  std::printf(
      "serial part %.0f µs, 4 tasks of %.0f µs, %.0f µs apart; ideal on 2 threads %.0f µs\n",
      serial_part, task, gap, serial_part + 2 * task);
  std::printf("| way | median µs | p10 | p90 | speed-up |\n|---|---|---|---|---|\n");
  std::sort(micros[0].begin(), micros[0].end());
  for (int way = 0; way < kWays; way++) {
    std::vector<double>& m = micros[way];
    std::sort(m.begin(), m.end());
    std::printf("| %s | %.0f | %.0f | %.0f | %.2f× |\n", names[way], m[kRuns / 2], m[kRuns / 10],
                m[kRuns * 9 / 10], micros[0][kRuns / 2] / m[kRuns / 2]);
  }
  return 0;
}
