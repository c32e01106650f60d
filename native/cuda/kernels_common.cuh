// Device helpers shared by the kernels: warp and block reductions. Blocks are one-dimensional
// with a multiple of 32 threads, and every thread of a block calls a block reduction (they hold
// __syncthreads). Results are the same in every thread and do not depend on scheduling: each
// warp reduces in a fixed tree, then every thread adds the warp totals in warp order.
#pragma once
#include <cstdint>

#include "api.cuh"

namespace rnnlm::cuda {

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return __shfl_sync(0xffffffffu, v, 0);
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
  return __shfl_sync(0xffffffffu, v, 0);
}

// `shared` holds at least blockDim.x / 32 values and belongs to the caller's kernel.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* shared) {
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const int warps = static_cast<int>(blockDim.x) / 32;
  v = warp_sum(v);
  __syncthreads();  // an earlier reduction may still be reading `shared`
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  T total = shared[0];
  for (int w = 1; w < warps; ++w) total += shared[w];
  return total;
}

__device__ __forceinline__ float block_max(float v, float* shared) {
  const int lane = static_cast<int>(threadIdx.x) % 32, warp = static_cast<int>(threadIdx.x) / 32;
  const int warps = static_cast<int>(blockDim.x) / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = shared[0];
  for (int w = 1; w < warps; ++w) total = fmaxf(total, shared[w]);
  return total;
}

}  // namespace rnnlm::cuda
