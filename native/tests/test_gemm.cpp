// cpu::sgemm: the built-in kernel against a double-precision reference for all four transpose
// combinations, sizes around the micro-tile edges (0, 1, odd), padded leading dimensions,
// alpha / beta (beta == 0 ignores NaN in C), and the BLAS path against the built-in one when
// the build linked a BLAS.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "test_harness.h"

namespace {

using rnnlm::cpu::GemmProvider;

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad;  // extra columns in every leading dimension
};

std::string describe(const Case& c) {
  return "ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) + " m=" + std::to_string(c.m) +
         " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k) + " alpha=" + std::to_string(c.alpha) +
         " beta=" + std::to_string(c.beta) + " pad=" + std::to_string(c.pad);
}

// Runs one case through `gemm` and checks it against the double-precision reference.
template <typename Gemm>
void check_case(const Case& c, Gemm gemm, const char* which) {
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  std::vector<float> a(std::max<int64_t>(1, a_rows * lda)), b(std::max<int64_t>(1, b_rows * ldb));
  std::vector<float> cm(std::max<int64_t>(1, c.m * ldc));
  for (float& v : a) v = static_cast<float>(test::rand_uniform(-1, 1));
  for (float& v : b) v = static_cast<float>(test::rand_uniform(-1, 1));
  for (float& v : cm) v = c.beta == 0.0f ? std::numeric_limits<float>::quiet_NaN()
                                         : static_cast<float>(test::rand_uniform(-1, 1));
  const std::vector<float> c_before = cm;
  std::vector<double> ref(static_cast<size_t>(c.m * c.n));
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < c.k; ++p) {
        const double av = c.ta ? a[p * lda + i] : a[i * lda + p];
        const double bv = c.tb ? b[j * ldb + p] : b[p * ldb + j];
        acc += av * bv;
      }
      const double prior = c.beta == 0.0f ? 0.0 : static_cast<double>(c.beta) * c_before[i * ldc + j];
      ref[i * c.n + j] = c.alpha * acc + prior;
    }
  gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, cm.data(), ldc);
  double worst = 0.0;
  bool pad_touched = false;
  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      const double want = ref[i * c.n + j];
      const double err = std::fabs(cm[i * ldc + j] - want) / (1e-5 * (1.0 + std::sqrt(double(c.k))) + 1e-5 * std::fabs(want));
      if (!(err <= worst)) worst = err;
    }
    for (int64_t j = c.n; j < ldc; ++j) {
      const float before = c_before[i * ldc + j], after = cm[i * ldc + j];
      if (!(before == after || (std::isnan(before) && std::isnan(after)))) pad_touched = true;
    }
  }
  if (!(worst <= 1.0)) test::report(__FILE__, __LINE__, std::string(which) + " wrong for " + describe(c) + ": scaled error " + std::to_string(worst));
  if (pad_touched) test::report(__FILE__, __LINE__, std::string(which) + " wrote past n for " + describe(c));
}

void builtin(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
             const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  rnnlm::cpu::sgemm_builtin(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void dispatched(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  rnnlm::cpu::sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void test_sizes() {
  const int64_t sizes[] = {0, 1, 2, 7, 8, 9, 17, 31, 32, 33, 65};
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t m : sizes)
        for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{32}, int64_t{47}})
          for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{40}}) {
            check_case({ta, tb, m, n, k, 1.0f, 0.0f, 0}, builtin, "builtin");
            check_case({ta, tb, n, m, k, 0.5f, 1.0f, 3}, builtin, "builtin");
          }
}

void test_scalars_and_large() {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_case({ta, tb, 37, 29, 13, -1.5f, 0.25f, 2}, builtin, "builtin");
      check_case({ta, tb, 37, 29, 13, 0.0f, 2.0f, 0}, builtin, "builtin");  // alpha 0: C = beta C
      check_case({ta, tb, 37, 29, 13, 0.0f, 0.0f, 1}, builtin, "builtin");  // NaN in C cleared
      // Several K blocks, several threads, ragged edges on every side.
      check_case({ta, tb, 203, 141, 777, 1.0f, 0.0f, 5}, builtin, "builtin");
      check_case({ta, tb, 9, 611, 300, 1.0f, 1.0f, 0}, builtin, "builtin");
      check_case({ta, tb, 530, 3, 1100, 0.75f, -1.0f, 1}, builtin, "builtin");
    }
}

void test_dispatch() {
  using namespace rnnlm::cpu;
  if (!blas_available()) {
    CHECK(gemm_provider() == GemmProvider::Builtin);
    CHECK(std::string(blas_name()) == "none");
    EXPECT_ERROR(rnnlm::code::kArgument, "no BLAS", [] { set_gemm_provider(GemmProvider::Blas); });
    return;
  }
  std::printf("test_gemm: BLAS is %s\n", blas_name());
  CHECK(std::string(blas_name()) != "none");
  const GemmProvider before = gemm_provider();
  for (GemmProvider p : {GemmProvider::Blas, GemmProvider::Builtin}) {
    set_gemm_provider(p);
    CHECK(gemm_provider() == p);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_case({ta, tb, 203, 141, 777, 1.0f, 0.0f, 5}, dispatched, p == GemmProvider::Blas ? "blas" : "builtin");
        check_case({ta, tb, 1, 33, 0, 1.0f, 0.5f, 0}, dispatched, "dispatch k=0");
        check_case({ta, tb, 0, 33, 5, 1.0f, 0.5f, 0}, dispatched, "dispatch m=0");
        check_case({ta, tb, 64, 2048 / 8, 512 / 8, 1.0f, 1.0f, 7}, dispatched, "dispatch");
      }
  }
  set_gemm_provider(before);
  set_blas_threads(2);
  EXPECT_ERROR(rnnlm::code::kArgument, "threads", [] { rnnlm::cpu::set_blas_threads(0); });
}

}  // namespace

int main() {
  test_sizes();
  test_scalars_and_large();
  test_dispatch();
  return test::finish("test_gemm");
}
