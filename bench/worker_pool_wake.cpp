// What a sleeping helper of the worker pool (src/util/worker_pool.h) costs to wake: 4 tasks
// of TASK µs busy work, GAP µs apart, on the calling thread alone and with one helper,
// alternated 2000 times, medians. Two threads would ideally take half the serial time;
// the rest is the helper's wake-up (and whatever else runs on the CPUs).
//   cmake --build BUILD --target bench_worker_pool_wake
//   BUILD/bench_worker_pool_wake [TASK] [GAP]
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
  constexpr int kRuns = 2000;
  ruvector::WorkerPool pool;
  std::vector<double> serial, threaded;
  for (int r = 0; r < kRuns; r++) {
    auto t0 = Clock::now();
    pool.run(0, 4, [&](std::size_t) { busy(task); });
    serial.push_back(micros_since(t0));
    busy(gap);
    t0 = Clock::now();
    pool.run(1, 4, [&](std::size_t) { busy(task); });
    threaded.push_back(micros_since(t0));
    busy(gap);
  }
  std::sort(serial.begin(), serial.end());
  std::sort(threaded.begin(), threaded.end());
  std::printf(
      "4 tasks of %.0f µs, %.0f µs apart: serial %.0f µs, 2 threads %.0f µs (p10 %.0f, p90 %.0f)\n",
      task, gap, serial[kRuns / 2], threaded[kRuns / 2], threaded[kRuns / 10],
      threaded[kRuns * 9 / 10]);
  return 0;
}
