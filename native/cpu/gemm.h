// Single-precision GEMM on row-major matrices: C (M, N) = alpha * op(A) op(B) + beta * C, where
// op(A) is (M, K) and op(B) is (K, N). Backed by CBLAS (OpenBLAS) when the build found one,
// (linked, or found with dlopen in a portable build), else by the built-in cache-blocked kernel; RNNLM_GEMM=builtin selects the built-in kernel at
// run time in a BLAS build, so both paths can be compared in one binary.
#pragma once
#include <cstdint>

namespace rnnlm::cpu {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// The built-in kernel itself (always compiled), used by sgemm when no BLAS is active.
void sgemm_builtin(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc);

enum class GemmProvider { Blas, Builtin };
GemmProvider gemm_provider();
void set_gemm_provider(GemmProvider provider);  // Blas in a build without BLAS throws
bool blas_available();
const char* blas_name();     // "OpenBLAS 0.3.21 (pthreads)" or "none"
const char* blas_library();  // the BLAS library file ("" when unknown or none)
const char* blas_reason();   // why this BLAS (or none) is the one in use
void set_blas_threads(int threads);

}  // namespace rnnlm::cpu
