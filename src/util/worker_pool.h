// A few threads started once and reused for many short parallel loops: parallel_for
// (ivf/parallel.h) starts fresh threads per call, which costs tens of µs, as much as a
// small search. The process may be a Postgres backend: the threads run with every signal
// blocked, and the tasks given to them must call nothing in Postgres.
#pragma once

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
  WorkerPool() = default;
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

  // Threads started so far.
  std::size_t threads() const { return threads_.size(); }

 private:
  struct Job;
  void grow(std::size_t helpers);
  void work(std::size_t index);
  static void take_tasks(Job* job);

  std::mutex mutex_;
  std::condition_variable wake_;  // a job was posted, or the pool stops
  std::condition_variable idle_;  // a helper left the job
  std::vector<std::thread> threads_;
  Job* job_ = nullptr;  // posted and not yet closed by its run()
  unsigned long long posted_ = 0;
  std::size_t active_ = 0;  // helpers inside job_
  bool stopping_ = false;
};

}  // namespace ruvector
