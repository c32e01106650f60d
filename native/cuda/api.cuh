// What every CUDA backend source includes: the CUDA runtime and cuBLAS declarations (the real
// ones under nvcc, the CPU emulator's in an RNNLM_CUDA_EMULATION build), the kernel launch macro,
// launch geometry, and the checks that turn CUDA and cuBLAS failures into rnnlm::Error.
//
// Kernels are launched only through RNNLM_LAUNCH, so the same source runs on a GPU and in the
// emulator:   RNNLM_LAUNCH(kernel, grid, block, stream, arg0, arg1, ...);
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"

#if defined(RNNLM_CUDA_EMULATION)
#include "emu/cublas_emu.h"
#include "emu/cuda_emu.h"
#else
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

namespace rnnlm::cuda {

// cudaSuccess or an rnnlm::Error: ERR_RNNLM_OOM for allocation failures, else ERR_RNNLM_CUDA,
// naming the call and the CUDA error.
void check_cuda(cudaError_t status, const char* what);
void check_cublas(cublasStatus_t status, const char* what);
// After a launch: a bad configuration (or an earlier asynchronous fault) surfaces here.
void check_launch(const char* kernel);

// Threads per block of the element-wise and row kernels. Every kernel loops over its work with
// a grid stride, so any grid size is correct; grids are capped so the emulator, which runs each
// thread as a fiber, stays quick (the cap still gives several blocks, so the cross-block paths
// run in tests too).
constexpr int kThreads = 256;
#if defined(RNNLM_CUDA_EMULATION)
constexpr int64_t kMaxBlocks = 4;
#else
constexpr int64_t kMaxBlocks = 4096;
#endif

inline unsigned int blocks_for(int64_t work, int64_t per_block = kThreads) {
  int64_t b = (work + per_block - 1) / per_block;
  if (b < 1) b = 1;
  if (b > kMaxBlocks) b = kMaxBlocks;
  return static_cast<unsigned int>(b);
}

}  // namespace rnnlm::cuda

#if defined(RNNLM_CUDA_EMULATION)
#define RNNLM_LAUNCH(kernel, grid, block, stream, ...)                                         \
  do {                                                                                         \
    ::rnnlm::emu::launch((grid), (block), (stream), [&]() { kernel(__VA_ARGS__); });           \
    ::rnnlm::cuda::check_launch(#kernel);                                                      \
  } while (0)
#else
#define RNNLM_LAUNCH(kernel, grid, block, stream, ...)          \
  do {                                                          \
    kernel<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__);      \
    ::rnnlm::cuda::check_launch(#kernel);                       \
  } while (0)
#endif

// A grid-stride loop over [0, n) with a 64-bit index.
#define RNNLM_GRID_LOOP(i, n)                                                               \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)
