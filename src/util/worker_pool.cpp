// See worker_pool.h. A job lives in run()'s frame: helpers join it only under the mutex
// while it is posted, and run() closes it only once no helper is inside.
#include "util/worker_pool.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <system_error>

namespace ruvector {

namespace {

// A yield that lasted this long gave the CPU to another thread that wanted it.
constexpr auto kYieldedAway = std::chrono::microseconds(50);

// Turns until done() or for `micros`, giving the CPU to any other runnable thread on each
// turn; says whether done() became true. It stops early once a turn found such a thread:
// then the CPU is contended, and a spinning thread would take a share of it from the
// threads that work (the backend among them) until its time is out, where sleeping
// takes none.
template <class Done>
bool spin(unsigned micros, Done done) {
  if (micros == 0) return done();
  const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  for (;;) {
    if (done()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() - now >= kYieldedAway) return done();
  }
}

}  // namespace

struct WorkerPool::Job {
  const std::function<void(std::size_t)>* fn;
  std::size_t tasks;
  unsigned helpers;  // how many pool threads may join (index < helpers)
  std::atomic<std::size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
};

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    // The owner may be leaving from inside run() (a Postgres backend exits from within an
    // interrupt check): no helper starts another task.
    if (job_ != nullptr) job_->next.store(job_->tasks);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::take_tasks(Job* job) {
  for (;;) {
    std::size_t i = job->next.fetch_add(1);
    if (i >= job->tasks) return;
    try {
      (*job->fn)(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job->error_mutex);
      if (!job->error) job->error = std::current_exception();
      job->next.store(job->tasks);
      return;
    }
  }
}

void WorkerPool::work(std::size_t index) {
  unsigned long long seen = 0;           // the last job this thread looked at
  unsigned long long seen_prepared = 0;  // the last prepare() it answered
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] {
      return stopping_ || (job_ != nullptr && posted_ != seen) || prepared_ != seen_prepared;
    });
    if (stopping_) return;
    // Every job posted while job_ is null is closed: none to join.
    if (job_ == nullptr) seen = posted_;
    if (job_ == nullptr || posted_ == seen) {
      // Only a prepare(): wait for its job spinning, then look again.
      seen_prepared = prepared_;
      if (index >= prepared_helpers_) continue;
      lock.unlock();
      spin(spin_micros_, [&] {
        return posted_.load(std::memory_order_acquire) != seen ||
               stopping_.load(std::memory_order_relaxed);
      });
      lock.lock();
      continue;
    }
    seen_prepared = prepared_;
    seen = posted_;
    if (index >= job_->helpers) continue;
    Job* job = job_;
    active_++;
    lock.unlock();
    take_tasks(job);
    lock.lock();
    if (--active_ == 0) idle_.notify_one();
    // Runs come in series (a loop of searches): wait for the next one spinning a while, as
    // after a prepare(), so that it does not pay for waking this thread.
    lock.unlock();
    spin(spin_micros_, [&] {
      return posted_.load(std::memory_order_acquire) != seen ||
             prepared_.load(std::memory_order_acquire) != seen_prepared ||
             stopping_.load(std::memory_order_relaxed);
    });
    lock.lock();
  }
}

void WorkerPool::grow(std::size_t helpers) {
  // Threads inherit the creator's signal mask: block everything while starting them, so
  // that every signal is handled by the thread that installed the handlers.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    while (threads_.size() < helpers) {
      const std::size_t index = threads_.size();
      threads_.emplace_back([this, index] { work(index); });
    }
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void WorkerPool::prepare(unsigned helpers) {
  try {
    grow(helpers);
  } catch (const std::system_error&) {
    // run() copes with fewer threads.
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    prepared_helpers_ = helpers;
    prepared_++;
  }
  wake_.notify_all();
}

void WorkerPool::run(unsigned helpers, std::size_t tasks,
                     const std::function<void(std::size_t)>& fn) {
  if (helpers > 0 && tasks > 1) {
    if (tasks - 1 < helpers) helpers = static_cast<unsigned>(tasks - 1);
    // Fewer threads than asked when the system has no more to give: the caller's own
    // thread still runs every task that no helper takes.
    try {
      grow(helpers);
    } catch (const std::system_error&) {
      helpers = static_cast<unsigned>(threads_.size());
    }
  } else {
    helpers = 0;
  }
  Job job;
  job.fn = &fn;
  job.tasks = tasks;
  job.helpers = helpers;
  if (helpers > 0) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      posted_++;
    }
    wake_.notify_all();
  }
  take_tasks(&job);
  if (helpers > 0) {
    // Every task is taken; those still running are the helpers' (counted in active_).
    spin(spin_micros_, [&] { return active_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    idle_.wait(lock, [&] { return active_ == 0; });
    job_ = nullptr;
  }
  if (job.error) std::rethrow_exception(job.error);
}

}  // namespace ruvector
