// A CBLAS found when the addon runs (portable builds, RNNLM_BLAS=RUNTIME), so that a prebuilt
// binary uses the machine's OpenBLAS when there is one and needs none to load.
#pragma once
#include <string>

namespace rnnlm::cpu {

// cblas.h's enum values, so that no cblas.h is needed to build.
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;

struct RuntimeBlas {
  using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);
  Sgemm sgemm = nullptr;                     // null: none found, the built-in GEMM runs
  void (*set_num_threads)(int) = nullptr;    // openblas_set_num_threads when it is OpenBLAS
  std::string name = "none";                 // "OpenBLAS 0.3.21 (pthreads)", "CBLAS", "none"
  std::string path;                          // the library file
  std::string reason;                        // why this one, or why none
};

// Looked for once, on first use: $RNNLM_BLAS_LIBRARY (a file or soname; "none" turns it off),
// else libopenblas.so.0, libopenblas.so, libcblas.so.3, libblas.so.3, the first that loads and
// exports cblas_sgemm.
const RuntimeBlas& runtime_blas();

}  // namespace rnnlm::cpu
