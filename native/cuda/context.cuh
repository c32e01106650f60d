// The device state every op uses: the device, the backend's own stream (all kernels, copies and
// cuBLAS calls go there, so they run in order and the host waits only in copy_to_host), the
// cuBLAS handle and the entry points cuBLAS was loaded with, and the caching allocator.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "api.cuh"

namespace rnnlm::cuda {

// cuBLAS is loaded at run time (dlopen), so the addon loads and runs on the CPU on machines
// without the CUDA libraries; in the emulator these point at the stand-in.
struct BlasApi {
  cublasStatus_t (*create)(cublasHandle_t*) = nullptr;
  cublasStatus_t (*destroy)(cublasHandle_t) = nullptr;
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t) = nullptr;
  cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t) = nullptr;
  cublasStatus_t (*get_version)(cublasHandle_t, int*) = nullptr;
  const char* (*status_string)(cublasStatus_t) = nullptr;
  cublasStatus_t (*sgemm)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                          const float*, const float*, int, const float*, int, const float*, float*,
                          int) = nullptr;
  std::string origin;  // the library file it came from
};

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  BlasApi api;
  std::string description;
};

// The initialised context; throws ERR_RNNLM_DEVICE (with the reason) when CUDA is unusable.
Context& context();
inline cudaStream_t stream() { return context().stream; }

// Row-major SGEMM with cpu::sgemm's meaning: C (m, n) = alpha op(A) op(B) + beta C, op(A) (m, k),
// op(B) (k, n), on the backend's stream. beta == 0 never reads C.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// Device memory from the caching allocator (allocator.cu). `what` names the request in the
// out-of-memory message ("a tensor of shape (64, 512)").
void* device_allocate(size_t bytes, const std::string& what);
void device_release(void* ptr);

}  // namespace rnnlm::cuda
