// sgemm dispatch: CBLAS (OpenBLAS) when the build linked one and it is selected, else the
// built-in kernel. RNNLM_GEMM=builtin (read once, at first use) starts a BLAS build on the
// built-in kernel; set_gemm_provider switches at run time so tests and `bench` compare both.
#include "gemm.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../core/error.h"

#if defined(RNNLM_HAVE_CBLAS)
#include <cblas.h>
#endif

namespace rnnlm::cpu {

namespace {

GemmProvider initial_provider() {
#if defined(RNNLM_HAVE_CBLAS)
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

}  // namespace

GemmProvider gemm_provider() { return provider_state().load(std::memory_order_relaxed); }

void set_gemm_provider(GemmProvider provider) {
  RNNLM_CHECK(provider == GemmProvider::Builtin || blas_available(), code::kArgument,
              "set_gemm_provider: this build has no BLAS linked (built-in GEMM only)");
  provider_state().store(provider, std::memory_order_relaxed);
}

bool blas_available() {
#if defined(RNNLM_HAVE_CBLAS)
  return true;
#else
  return false;
#endif
}

const char* blas_name() {
#if defined(RNNLM_HAVE_OPENBLAS)
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

void set_blas_threads(int threads) {
  RNNLM_CHECK(threads >= 1, code::kArgument,
              "set_blas_threads: threads must be >= 1, got " + std::to_string(threads));
#if defined(RNNLM_HAVE_OPENBLAS)
  openblas_set_num_threads(threads);
#endif
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
#if defined(RNNLM_HAVE_CBLAS)
  // CBLAS rejects leading dimensions below 1 even for empty operands, and K = 0 must still
  // scale C; both cases go to the built-in path, which handles them without touching A or B.
  // Sizes past INT_MAX do not fit CBLAS's int arguments either.
  constexpr int64_t kIntMax = 2147483647;
  if (gemm_provider() == GemmProvider::Blas && m > 0 && n > 0 && k > 0 && m <= kIntMax &&
      n <= kIntMax && k <= kIntMax && lda <= kIntMax && ldb <= kIntMax && ldc <= kIntMax) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
    return;
  }
#endif
  sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace rnnlm::cpu
