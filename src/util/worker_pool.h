// A few threads started once and reused for many short parallel loops: parallel_for
// (ivf/parallel.h) starts fresh threads per call, which costs tens of µs, as much as a
// small search. The process may be a Postgres backend: the threads run with every signal
// blocked, and the tasks given to them must call nothing in Postgres.
//
// Waking a sleeping thread costs 30-40 µs on a virtual machine, once to start a helper
// and once more for the caller when a helper ends last: as much as a small task. So a
// caller that knows a run() is coming calls prepare() first, and its helpers wait for the
// job spinning instead of sleeping; run() spins while its helpers finish; and a helper that
// ends a job spins for the next one, since runs come in series (a loop of searches, where a
// prepare() came too late to cover the wake: 4 shards' federated search 205 -> 170 µs).
// Every spin is bounded (spin_micros), yields the CPU on every turn, and ends at the first
// turn that gave the CPU away: another runnable process loses little to it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ruvector {

class WorkerPool {
 public:
  // How long a spin lasts before the thread sleeps: longer than a search's serial part and
  // than most shards' scans, short enough that a wait on a slow task is a sleep.
  static constexpr unsigned kDefaultSpinMicros = 250;

  explicit WorkerPool(unsigned spin_micros = kDefaultSpinMicros) : spin_micros_(spin_micros) {}
  // Stops and joins the threads; they are idle, since run() returns only when its tasks
  // are done.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs fn(0 .. tasks - 1) on the calling thread and up to `helpers` pool threads (started
  // on first need), then returns; the first exception a task throws is rethrown here after
  // every task that started has ended, and no further task starts. The caller takes tasks
  // too, so a helper the scheduler leaves waiting costs at most the task it took, never the
  // loop. One run() at a time (the pool is one thread's); results must not depend on which
  // thread ran a task.
  void run(unsigned helpers, std::size_t tasks, const std::function<void(std::size_t)>& fn);

  // Says that run() with this many helpers comes soon: starts the threads if need be and
  // wakes them to spin for the job, for at most spin_micros. Nothing breaks if no run()
  // follows; the helpers go back to sleep.
  void prepare(unsigned helpers);

  // Threads started so far.
  std::size_t threads() const { return threads_.size(); }

 private:
  struct Job;
  void grow(std::size_t helpers);
  void work(std::size_t index);
  static void take_tasks(Job* job);

  const unsigned spin_micros_;
  std::mutex mutex_;
  std::condition_variable wake_;  // a job was posted or announced, or the pool stops
  std::condition_variable idle_;  // a helper left the job
  std::vector<std::thread> threads_;
  Job* job_ = nullptr;  // posted and not yet closed by its run()
  // Changed under mutex_; read without it only by spins, which then check under it.
  std::atomic<unsigned long long> posted_{0};
  std::atomic<unsigned long long> prepared_{0};
  unsigned prepared_helpers_ = 0;       // how many helpers the last prepare() woke
  std::atomic<std::size_t> active_{0};  // helpers inside job_
  std::atomic<bool> stopping_{false};   // set under mutex_; spins read it too
};

}  // namespace ruvector
