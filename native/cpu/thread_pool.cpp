#include "thread_pool.h"

#include <system_error>

#include "../common/errors.h"

namespace dien {

ThreadPool::ThreadPool(int threads) {
  if (threads < 1) threads = 1;
  workers_.reserve(threads - 1);
  try {
    for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w] { workerLoop(w); });
  } catch (const std::system_error& e) {
    // A thread limit (a container's pids.max, say): stop the threads already started
    // (a joinable std::thread destroyed would terminate the process) and say so.
    const size_t started = workers_.size();
    stopAll();
    throw CodedError(ErrorCode::OutOfMemory, cat("could not start thread ", started + 2, " of ", threads, " (",
                                                 e.what(), "); ask for fewer threads (options.threads, DIEN_THREADS)"));
  }
}

ThreadPool::~ThreadPool() { stopAll(); }

void ThreadPool::stopAll() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::drain(int worker) {
  for (;;) {
    const int task = next_.fetch_add(1, std::memory_order_relaxed);
    if (task >= tasks_) return;
    if (failed_.load(std::memory_order_relaxed)) continue;  // skip the rest after a failure
    try {
      (*job_)(task, worker);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
}

void ThreadPool::workerLoop(int worker) {
  unsigned seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    drain(worker);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int tasks, const std::function<void(int, int)>& fn) {
  if (tasks <= 0) return;
  if (tasks == 1 || workers_.empty()) {
    for (int t = 0; t < tasks; ++t) fn(t, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    tasks_ = tasks;
    next_.store(0);
    failed_.store(false);
    error_ = nullptr;
    busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  drain(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace dien
