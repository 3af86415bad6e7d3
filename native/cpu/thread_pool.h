// A persistent pool: threads are created once per model and sleep between calls, so
// a predict never pays for thread creation. The calling thread takes part as worker 0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dien {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs fn(task, worker) for every task in [0, tasks), handing tasks out dynamically.
  // worker is in [0, size()). The first exception thrown by any task is rethrown here
  // after every task has finished or been skipped. Not reentrant: one run at a time.
  void run(int tasks, const std::function<void(int, int)>& fn);
  // A task of the current run has thrown: the rest are being skipped (tasks that wait
  // on another task check this, since a skipped task never runs).
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  void stopAll();
  void workerLoop(int worker);
  void drain(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int, int)>* job_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> next_{0};
  int busy_ = 0;
  unsigned generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

}  // namespace dien
