// A fixed pool of num_threads() - 1 workers; the calling thread works too, so a parallel_for
// uses exactly num_threads() cores. Workers spin for a few microseconds after a job (element-wise
// passes come in quick succession inside a training step) and then sleep on a condition variable
// so that an idle engine costs no CPU and never competes with BLAS threads for long.
#include "thread_pool.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RNNLM_CPU_RELAX() _mm_pause()
#else
#define RNNLM_CPU_RELAX() std::this_thread::yield()
#endif

#include "error.h"

namespace rnnlm {

namespace {

// Set while a thread runs a chunk, so nested parallel_for calls from inside a body run inline
// instead of waiting on workers that are busy with the outer loop.
thread_local bool t_in_parallel = false;

// How long a worker (or the waiting caller) spins before blocking. Long enough to cover the gap
// between consecutive passes of a training step, short enough to be invisible when idle.
constexpr auto kSpinTime = std::chrono::microseconds(50);

// Spins until ready() or kSpinTime has passed; returns ready().
template <typename Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpinTime;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      RNNLM_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

int threads_from_environment() {
  const char* env = std::getenv("RNNLM_THREADS");
  if (env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    RNNLM_CHECK(end != env && *end == '\0' && value >= 1 && value <= 1024, code::kArgument,
                std::string("RNNLM_THREADS must be an integer in [1, 1024], got '") + env + "'");
    return static_cast<int>(value);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

struct Job {
  const std::function<void(int64_t, int64_t)>* body = nullptr;
  int64_t n = 0;
  int64_t chunks = 0;
  std::atomic<int64_t> next_chunk{0};
  std::atomic<int> active_workers{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;  // first failure, guarded by the pool mutex
};

class ThreadPool {
 public:
  explicit ThreadPool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int threads() const { return threads_; }

  void run(int64_t n, int64_t chunks, const std::function<void(int64_t, int64_t)>& body) {
    // One job at a time; a second caller thread (or a caller inside a chunk) runs inline
    // rather than queueing behind the first.
    std::unique_lock<std::mutex> busy(run_mutex_, std::try_to_lock);
    if (!busy.owns_lock()) {
      run_inline(n, body);
      return;
    }
    Job job;
    job.body = &body;
    job.n = n;
    job.chunks = chunks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();

    work_on(job);

    // Close the job to late workers, then wait for those that joined to finish their chunks.
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = nullptr;
    }
    spin_until([&] { return job.active_workers.load(std::memory_order_acquire) == 0; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return job.active_workers.load(std::memory_order_acquire) == 0; });
    }
    if (job.error) std::rethrow_exception(job.error);
  }

 private:
  static void run_inline(int64_t n, const std::function<void(int64_t, int64_t)>& body) {
    const bool was = t_in_parallel;
    t_in_parallel = true;
    try {
      body(0, n);
    } catch (...) {
      t_in_parallel = was;
      throw;
    }
    t_in_parallel = was;
  }

  void work_on(Job& job) {
    const bool was = t_in_parallel;
    t_in_parallel = true;
    for (;;) {
      if (job.failed.load(std::memory_order_relaxed)) break;
      const int64_t c = job.next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= job.chunks) break;
      const int64_t begin = job.n * c / job.chunks;
      const int64_t end = job.n * (c + 1) / job.chunks;
      try {
        (*job.body)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!job.error) job.error = std::current_exception();
        job.failed.store(true, std::memory_order_relaxed);
      }
    }
    t_in_parallel = was;
  }

  void worker_loop() {
    uint64_t seen = 0;
    for (;;) {
      spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      Job* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
        seen = generation_.load(std::memory_order_relaxed);
        if (stop_) return;
        job = job_;
        if (job == nullptr) continue;  // woke after the caller had already finished it
        job->active_workers.fetch_add(1, std::memory_order_relaxed);
      }
      work_on(*job);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        job->active_workers.fetch_sub(1, std::memory_order_release);
      }
      done_.notify_all();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};
  Job* job_ = nullptr;
  bool stop_ = false;
};

ThreadPool& pool() {
  static ThreadPool instance(threads_from_environment());
  return instance;
}

}  // namespace

int num_threads() { return pool().threads(); }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (t_in_parallel) {
    body(0, n);
    return;
  }
  ThreadPool& p = pool();
  int64_t chunks = n / grain;
  if (chunks > p.threads()) chunks = p.threads();
  if (chunks <= 1) {
    body(0, n);
    return;
  }
  p.run(n, chunks, body);
}

}  // namespace rnnlm
