// The thread pool: every index covered exactly once, chunking rules, nested calls run inline,
// exceptions reach the caller, concurrent callers, and idle workers that do not burn CPU.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "test_harness.h"

using rnnlm::num_threads;
using rnnlm::parallel_for;

namespace {

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void test_coverage() {
  for (int64_t n : {0, 1, 7, 1000, 100003}) {
    for (int64_t grain : {1, 16, 1000, 1 << 20}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (auto& h : hits) h.store(0);
      std::atomic<int> chunks{0};
      parallel_for(n, grain, [&](int64_t b, int64_t e) {
        CHECK(b < e);
        CHECK(e - b >= grain || (b == 0 && e == n));
        chunks.fetch_add(1);
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (auto& h : hits) CHECK(h.load() == 1);
      CHECK(chunks.load() <= num_threads());
      if (n == 0) CHECK(chunks.load() == 0);
    }
  }
}

void test_single_chunk_runs_inline() {
  const auto caller = std::this_thread::get_id();
  bool same = false;
  parallel_for(10, 100, [&](int64_t, int64_t) { same = std::this_thread::get_id() == caller; });
  CHECK(same);
}

void test_nested() {
  std::atomic<int64_t> total{0};
  parallel_for(64, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const auto outer = std::this_thread::get_id();
      parallel_for(100, 1, [&](int64_t b2, int64_t e2) {
        // Nested loops run inline on the thread that runs the outer chunk.
        CHECK(std::this_thread::get_id() == outer);
        total.fetch_add(e2 - b2);
      });
    }
  });
  CHECK(total.load() == 64 * 100);
}

void test_exceptions() {
  bool caught = false;
  try {
    parallel_for(1000, 1, [&](int64_t b, int64_t e) {
      if (b <= 999 && 999 < e) throw std::runtime_error("chunk failed");
    });
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "chunk failed";
  }
  CHECK(caught);

  // An rnnlm::Error keeps its type and code across the pool.
  EXPECT_ERROR(rnnlm::code::kIndex, "bad row", [] {
    parallel_for(1000, 1, [](int64_t b, int64_t) {
      if (b == 0) rnnlm::fail(rnnlm::code::kIndex, "bad row");
    });
  });

  // The pool still works afterwards.
  std::atomic<int64_t> sum{0};
  parallel_for(1000, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
  });
  CHECK(sum.load() == 999 * 1000 / 2);
}

void test_concurrent_callers() {
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        parallel_for(1000, 10, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
      }
    });
  }
  for (auto& t : callers) t.join();
  CHECK(total.load() == 4 * 200 * 1000);
}

void test_many_small_jobs() {
  // Back-to-back jobs exercise the wake/spin handshake.
  int64_t acc = 0;
  std::vector<int64_t> out(2 * static_cast<size_t>(num_threads()) + 8);
  for (int rep = 0; rep < 20000; ++rep) {
    parallel_for(static_cast<int64_t>(out.size()), 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[static_cast<size_t>(i)] = i + rep;
    });
    acc += out.back();
  }
  const int64_t last = static_cast<int64_t>(out.size()) - 1;
  CHECK(acc == 20000 * last + 19999LL * 20000 / 2);
}

void test_idle_workers_sleep() {
  parallel_for(1 << 16, 1, [](int64_t, int64_t) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spin window
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double used = process_cpu_seconds() - before;
  if (!(used < 0.05)) test::report(__FILE__, __LINE__, "idle pool used " + std::to_string(used) + " s of CPU in 0.3 s");
}

}  // namespace

int main() {
  std::printf("threads: %d\n", num_threads());
  CHECK(num_threads() >= 1);
  test_coverage();
  test_single_chunk_runs_inline();
  test_nested();
  test_exceptions();
  test_concurrent_callers();
  test_many_small_jobs();
  test_idle_workers_sleep();
  return test::finish("test_thread_pool");
}
