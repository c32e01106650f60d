// sgemm dispatch: CBLAS (OpenBLAS) when the build linked one (or, in a portable build, found one
// with dlopen: blas_runtime.cpp) and it is selected, else the built-in kernel. RNNLM_GEMM=builtin (read once, at first use) starts a BLAS build on the
// built-in kernel; set_gemm_provider switches at run time so tests and `bench` compare both.
//
// Threads: OpenBLAS runs single-threaded and the engine's pool splits a large GEMM into one
// block of C per thread instead. OpenBLAS's own workers keep spinning for a long while after
// each call (sched_yield loops, ~0.1 s by default); on a machine with as many cores as pool
// threads they then fight the pool for the cores, which slowed the RNN time loop that follows
// the input-projection GEMM by 20-60 % here. One set of threads avoids that entirely.
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "core/thread_pool.h"
#if defined(RNNLM_BLAS_RUNTIME)
#include "blas_runtime.h"
#endif

#if defined(RNNLM_HAVE_CBLAS)
#include <cblas.h>
#endif
#if defined(RNNLM_HAVE_CBLAS) || defined(RNNLM_BLAS_RUNTIME)
#define RNNLM_ANY_BLAS 1
#endif

namespace rnnlm::cpu {

namespace {

GemmProvider initial_provider() {
#if defined(RNNLM_ANY_BLAS)
  if (!blas_available()) return GemmProvider::Builtin;
  const char* env = std::getenv("RNNLM_GEMM");
  if (env != nullptr && *env != '\0') {
    if (std::strcmp(env, "builtin") == 0) return GemmProvider::Builtin;
    RNNLM_CHECK(std::strcmp(env, "blas") == 0, code::kArgument,
                std::string("RNNLM_GEMM must be 'builtin' or 'blas', got '") + env + "'");
  }
  return GemmProvider::Blas;
#else
  return GemmProvider::Builtin;
#endif
}

std::atomic<GemmProvider>& provider_state() {
  static std::atomic<GemmProvider> state{initial_provider()};
  return state;
}

// Most threads a BLAS call is split over (set_blas_threads); 0: the whole pool.
std::atomic<int> g_blas_threads{0};

#if defined(RNNLM_ANY_BLAS)
// Below this many multiply-adds a GEMM runs on the calling thread.
constexpr double kParallelMacs = 1 << 18;

void blas_single_threaded() {
#if defined(RNNLM_HAVE_OPENBLAS)
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
#elif defined(RNNLM_BLAS_RUNTIME)
  static const bool once = [] {
    if (runtime_blas().set_num_threads != nullptr) runtime_blas().set_num_threads(1);
    return true;
  }();
  (void)once;
#endif
}

void cblas_block(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                 const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                 int64_t ldc) {
#if defined(RNNLM_BLAS_RUNTIME)
  runtime_blas().sgemm(kCblasRowMajor, trans_a ? kCblasTrans : kCblasNoTrans,
                       trans_b ? kCblasTrans : kCblasNoTrans, static_cast<int>(m),
                       static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                       static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  return;
#else
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
#endif
}

// One single-threaded CBLAS call per pool thread, each on a block of rows (or columns, when C
// is wide) of C; the other operand is shared read-only.
void cblas_parallel(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) {
  blas_single_threaded();
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const int limit = g_blas_threads.load(std::memory_order_relaxed);
  int64_t tasks = macs < kParallelMacs ? 1 : num_threads();
  if (limit > 0) tasks = std::min<int64_t>(tasks, limit);
  const bool split_rows = m >= n;
  constexpr int64_t kUnit = 16;  // block edges on whole vector widths
  const int64_t units = ((split_rows ? m : n) + kUnit - 1) / kUnit;
  tasks = std::max<int64_t>(1, std::min(tasks, units));
  if (tasks == 1) {
    cblas_block(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t lo = std::min((split_rows ? m : n), units * t / tasks * kUnit);
      const int64_t hi = std::min((split_rows ? m : n), units * (t + 1) / tasks * kUnit);
      if (hi <= lo) continue;
      if (split_rows) {
        // rows [lo, hi) of op(A) and of C
        const float* a_blk = trans_a ? a + lo : a + lo * lda;
        cblas_block(trans_a, trans_b, hi - lo, n, k, alpha, a_blk, lda, b, ldb, beta, c + lo * ldc, ldc);
      } else {
        // columns [lo, hi) of op(B) and of C
        const float* b_blk = trans_b ? b + lo * ldb : b + lo;
        cblas_block(trans_a, trans_b, m, hi - lo, k, alpha, a, lda, b_blk, ldb, beta, c + lo, ldc);
      }
    }
  });
}
#endif

}  // namespace

GemmProvider gemm_provider() { return provider_state().load(std::memory_order_relaxed); }

void set_gemm_provider(GemmProvider provider) {
  RNNLM_CHECK(provider == GemmProvider::Builtin || blas_available(), code::kArgument,
              "set_gemm_provider: this build has no BLAS linked (built-in GEMM only)");
  provider_state().store(provider, std::memory_order_relaxed);
}

bool blas_available() {
#if defined(RNNLM_BLAS_RUNTIME)
  return runtime_blas().sgemm != nullptr;
#elif defined(RNNLM_HAVE_CBLAS)
  return true;
#else
  return false;
#endif
}

const char* blas_name() {
#if defined(RNNLM_BLAS_RUNTIME)
  return runtime_blas().name.c_str();
#elif defined(RNNLM_HAVE_OPENBLAS)
  // OPENBLAS_VERSION is " OpenBLAS 0.3.21 " (padded); trim it and add the threading model.
  static const std::string name = [] {
    std::string version = OPENBLAS_VERSION;
    const size_t first = version.find_first_not_of(' ');
    const size_t last = version.find_last_not_of(' ');
    version = first == std::string::npos ? "OpenBLAS" : version.substr(first, last - first + 1);
    switch (openblas_get_parallel()) {
      case 0: return version + " (sequential)";
      case 1: return version + " (pthreads)";
      default: return version + " (OpenMP)";
    }
  }();
  return name.c_str();
#elif defined(RNNLM_HAVE_CBLAS)
  return "CBLAS";
#else
  return "none";
#endif
}

const char* blas_library() {
#if defined(RNNLM_BLAS_RUNTIME)
  return runtime_blas().path.c_str();
#elif defined(RNNLM_BLAS_LINKED_PATH)
  return RNNLM_BLAS_LINKED_PATH;
#else
  return "";
#endif
}

const char* blas_reason() {
#if defined(RNNLM_BLAS_RUNTIME)
  return runtime_blas().reason.c_str();
#elif defined(RNNLM_HAVE_CBLAS)
  return "linked when the addon was built: CMake found it (RNNLM_BLAS=AUTO or OPENBLAS)";
#else
  return "this build links no BLAS (RNNLM_BLAS=BUILTIN, or none was found when it was built)";
#endif
}

void set_blas_threads(int threads) {
  RNNLM_CHECK(threads >= 1, code::kArgument,
              "set_blas_threads: threads must be >= 1, got " + std::to_string(threads));
  // OpenBLAS itself stays single-threaded (see the top of this file); the limit applies to
  // how many pool threads share one GEMM.
  g_blas_threads.store(threads, std::memory_order_relaxed);
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
#if defined(RNNLM_ANY_BLAS)
  // CBLAS rejects leading dimensions below 1 even for empty operands, and K = 0 must still
  // scale C; both cases go to the built-in path, which handles them without touching A or B.
  // Sizes past INT_MAX do not fit CBLAS's int arguments either.
  constexpr int64_t kIntMax = 2147483647;
  if (gemm_provider() == GemmProvider::Blas && m > 0 && n > 0 && k > 0 && m <= kIntMax &&
      n <= kIntMax && k <= kIntMax && lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax) {
    cblas_parallel(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
  sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace rnnlm::cpu
