// Self-test of the CUDA emulator (native/emu), independent of the backend: the semantics the
// backend's kernels rely on (block and warp barriers, shuffles, shared memory, atomics, launch
// geometry, the runtime's argument checks and sticky errors) and the cuBLAS stand-in's
// column-major SGEMM against a direct sum. Built and run by ctest in a plain CMake build with
// RNNLM_CUDA_EMULATION=ON (see cmake/cuda_emulation.cmake); returns the number of failures.
#include <cmath>
#include <cstdio>
#include <vector>

#include "emu/cublas_emu.h"
#include "emu/cuda_emu.h"

namespace {

int failures = 0;

#define EXPECT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      ++failures;                                                       \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                   \
  } while (0)

template <typename F>
void launch(dim3 grid, dim3 block, F&& f) {
  rnnlm::emu::launch(grid, block, nullptr, f);
}

// Every thread writes, the block meets, every thread reads a neighbour's value: without the
// barrier thread 0 would read before the others wrote.
void test_block_barrier() {
  std::vector<int> out(256, -1);
  int* o = out.data();
  launch(dim3(2), dim3(128), [o]() {
    __shared__ int buf[128];
    buf[threadIdx.x] = static_cast<int>(threadIdx.x * 10 + blockIdx.x);
    __syncthreads();
    o[blockIdx.x * 128 + threadIdx.x] = buf[(threadIdx.x + 1) % 128];
  });
  EXPECT(cudaGetLastError() == cudaSuccess);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 128; ++t) EXPECT(out[static_cast<size_t>(b * 128 + t)] == ((t + 1) % 128) * 10 + b);
}

void test_shuffles() {
  std::vector<float> down(64), xr(64), bcast(64);
  float* d = down.data();
  float* x = xr.data();
  float* bc = bcast.data();
  launch(dim3(1), dim3(64), [d, x, bc]() {
    const float v = static_cast<float>(threadIdx.x);
    d[threadIdx.x] = __shfl_down_sync(0xffffffffu, v, 3);
    x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 5);
    bc[threadIdx.x] = __shfl_sync(0xffffffffu, v, 7);
  });
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, base = t - lane;
    EXPECT(down[static_cast<size_t>(t)] == static_cast<float>(lane + 3 < 32 ? t + 3 : t));
    EXPECT(xr[static_cast<size_t>(t)] == static_cast<float>(base + (lane ^ 5)));
    EXPECT(bcast[static_cast<size_t>(t)] == static_cast<float>(base + 7));
  }
  // A warp tree reduction, as the backend's block_sum does.
  std::vector<double> sums(2);
  double* s = sums.data();
  launch(dim3(1), dim3(64), [s]() {
    double v = threadIdx.x + 1.0;
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    if (threadIdx.x % 32 == 0) s[threadIdx.x / 32] = v;
  });
  EXPECT(sums[0] == 528.0 && sums[1] == 1552.0);
}

void test_atomics_and_geometry() {
  float total = 0.0f;
  int count = 0;
  float* t = &total;
  int* c = &count;
  launch(dim3(3, 2), dim3(8, 4), [t, c]() {
    atomicAdd(t, 0.5f);
    atomicAdd(c, 1);
    EXPECT(blockDim.x == 8 && blockDim.y == 4 && gridDim.x == 3 && gridDim.y == 2);
    EXPECT(threadIdx.x < 8 && threadIdx.y < 4 && blockIdx.x < 3 && blockIdx.y < 2);
  });
  EXPECT(count == 3 * 2 * 8 * 4);
  EXPECT(total == 0.5f * 192);
}

void test_launch_errors() {
  int ran = 0;
  int* r = &ran;
  launch(dim3(0), dim3(32), [r]() { ++*r; });
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration);
  EXPECT(ran == 0);
  launch(dim3(1), dim3(2048), [r]() { ++*r; });
  EXPECT(cudaGetLastError() == cudaErrorInvalidConfiguration);
  EXPECT(cudaGetLastError() == cudaSuccess);  // reading clears it
  // Barriers in divergent code: half a warp waits at the block barrier, the other half at a warp
  // barrier. On a GPU that hangs; here the launch fails.
  launch(dim3(1), dim3(64), []() {
    if (threadIdx.x < 16) {
      __syncthreads();
    } else if (threadIdx.x < 32) {
      __syncwarp();
    }
  });
  EXPECT(cudaGetLastError() == cudaErrorLaunchFailure);
}

void test_memory() {
  void* p = nullptr;
  EXPECT(cudaMalloc(&p, 1000) == cudaSuccess);
  std::vector<float> host(250, 1.5f), back(250, 0.0f);
  EXPECT(cudaMemcpy(p, host.data(), 1000, cudaMemcpyHostToDevice) == cudaSuccess);
  EXPECT(cudaMemcpy(back.data(), p, 1000, cudaMemcpyDeviceToHost) == cudaSuccess);
  EXPECT(back[249] == 1.5f);
  // Host memory where device memory belongs, and a copy past the end of an allocation.
  EXPECT(cudaMemcpy(back.data(), host.data(), 1000, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  EXPECT(cudaMemcpy(p, host.data(), 1028, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  cudaGetLastError();
  void* huge = nullptr;
  EXPECT(cudaMalloc(&huge, size_t{1} << 45) == cudaErrorMemoryAllocation);
  cudaGetLastError();
  EXPECT(cudaFree(p) == cudaSuccess);
  EXPECT(cudaFree(host.data()) == cudaErrorInvalidDevicePointer);
  cudaGetLastError();
}

// C (m, n) = alpha op(A) op(B) + beta C, column-major, against a direct sum.
void test_sgemm() {
  cublasHandle_t h = nullptr;
  EXPECT(cublasCreate_v2(&h) == CUBLAS_STATUS_SUCCESS);
  const int m = 5, n = 4, k = 3;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      const int lda = (ta ? k : m) + 2, ldb = (tb ? n : k) + 1, ldc = m + 3;
      std::vector<float> A(static_cast<size_t>(lda * (ta ? m : k))), B(static_cast<size_t>(ldb * (tb ? k : n)));
      std::vector<float> C(static_cast<size_t>(ldc * n)), want(C.size());
      for (size_t i = 0; i < A.size(); ++i) A[i] = std::sin(static_cast<float>(i));
      for (size_t i = 0; i < B.size(); ++i) B[i] = std::cos(static_cast<float>(i));
      for (size_t i = 0; i < C.size(); ++i) C[i] = want[i] = static_cast<float>(i % 7);
      const float alpha = 0.5f, beta = 2.0f;
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
          double acc = 0.0;
          for (int l = 0; l < k; ++l)
            acc += static_cast<double>(ta ? A[static_cast<size_t>(l + i * lda)] : A[static_cast<size_t>(i + l * lda)]) *
                   (tb ? B[static_cast<size_t>(j + l * ldb)] : B[static_cast<size_t>(l + j * ldb)]);
          want[static_cast<size_t>(i + j * ldc)] = static_cast<float>(alpha * acc + beta * want[static_cast<size_t>(i + j * ldc)]);
        }
      EXPECT(cublasSgemm_v2(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A.data(),
                            lda, B.data(), ldb, &beta, C.data(), ldc) == CUBLAS_STATUS_SUCCESS);
      for (size_t i = 0; i < C.size(); ++i) EXPECT(std::fabs(C[i] - want[i]) < 1e-5f);
    }
  }
  // A leading dimension too small for its matrix is rejected, as cuBLAS does.
  float a = 0.0f, one = 1.0f;
  EXPECT(cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 1, 1, &one, &a, 3, &a, 1, &one, &a, 4) == CUBLAS_STATUS_INVALID_VALUE);
  EXPECT(cublasDestroy_v2(h) == CUBLAS_STATUS_SUCCESS);
}

}  // namespace

int main() {
  test_block_barrier();
  test_shuffles();
  test_atomics_and_geometry();
  test_launch_errors();
  test_memory();
  test_sgemm();
  std::printf("emu_selftest: %d failure(s)\n", failures);
  return failures;
}
