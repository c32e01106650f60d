// The pick of each row's next input in autoregressive decoding (CUDA; see decode_pick in
// core/backend_ops.def and ops/decode/cpu_decode_pick.cpp). The choice between the true token and
// the prediction uses the same Philox draws and comparison as the CPU, so it is bit-exact across
// backends.
#include <math.h>

#include "core/philox.h"
#include "cuda/backend_class.h"
#include "cuda/context.cuh"
#include "cuda/kernels_common.cuh"

namespace rnnlm::cuda {

namespace {
// The first index of the largest value, NaN never winning (and a NaN first entry keeping index
// 0, as the CPU's sequential scan does). Every thread of the block gets the result.
__device__ int64_t block_argmax(const float* row, int64_t v, float* shared_v, int64_t* shared_i) {
  float best_v = 0.0f;
  int64_t best_i = -1;
  for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
    const float x = row[j];
    if ((best_i < 0 && !isnan(x)) || x > best_v) {
      best_v = x;
      best_i = j;
    }
  }
  shared_v[threadIdx.x] = best_v;
  shared_i[threadIdx.x] = best_i;
  __syncthreads();
  int64_t result = -1;
  float result_v = 0.0f;
  for (unsigned t = 0; t < blockDim.x; ++t) {  // in thread order: ties keep the smaller index
    const int64_t i = shared_i[t];
    if (i < 0) continue;
    if (result < 0 || shared_v[t] > result_v || (shared_v[t] == result_v && i < result)) {
      result = i;
      result_v = shared_v[t];
    }
  }
  __syncthreads();
  return result < 0 || isnan(row[0]) ? 0 : result;
}

// pred[m]: argmax, or a draw from softmax(row / temperature) by inverse CDF in id order. Each
// thread takes a contiguous chunk of the row; the chunk sums are scanned in order, and the thread
// whose chunk crosses u * total walks it to find the id.
__global__ void decode_pick_kernel(const float* logits, int64_t rows, int64_t v, float temperature, uint64_t seed,
                                   uint64_t offset, int64_t index_base, int32_t* pred) {
  __shared__ float shared_v[kThreads];
  __shared__ int64_t shared_i[kThreads];
  __shared__ double chunk_sum[kThreads];
  __shared__ double prefix[kThreads];
  __shared__ float shared_max[32];
  __shared__ int64_t picked;
  const int64_t chunk = (v + blockDim.x - 1) / blockDim.x;
  for (int64_t m = blockIdx.x; m < rows; m += gridDim.x) {
    const float* row = logits + m * v;
    const int64_t arg = block_argmax(row, v, shared_v, shared_i);
    if (temperature == 0.0f) {
      if (threadIdx.x == 0) pred[m] = static_cast<int32_t>(arg);
      continue;
    }
    float max = -INFINITY;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) max = fmaxf(max, row[j]);
    max = block_max(max, shared_max);
    if (isnan(row[0])) max = row[0];
    const double inv_t = 1.0 / temperature;
    const int64_t j0 = threadIdx.x * chunk, j1 = j0 + chunk < v ? j0 + chunk : v;
    double acc = 0.0;
    for (int64_t j = j0; j < j1; ++j) acc += exp((static_cast<double>(row[j]) - max) * inv_t);
    chunk_sum[threadIdx.x] = acc;
    if (threadIdx.x == 0) picked = -1;
    __syncthreads();
    if (threadIdx.x == 0) {
      double run = 0.0;
      for (unsigned t = 0; t < blockDim.x; ++t) {
        run += chunk_sum[t];
        prefix[t] = run;
      }
    }
    __syncthreads();
    const double total = prefix[blockDim.x - 1];
    const float u = philox_uniform(seed, offset, 2 * static_cast<uint64_t>(index_base + m) + 1);
    const double target = static_cast<double>(u) * total;
    const bool usable = total > 0.0 && isfinite(total);
    const double before = threadIdx.x == 0 ? 0.0 : prefix[threadIdx.x - 1];
    if (usable && j1 > j0 && prefix[threadIdx.x] > target && before <= target) {
      double run = before;
      int64_t found = j1 - 1;  // rounding may leave the walk short of the prefix's crossing
      for (int64_t j = j0; j < j1; ++j) {
        run += exp((static_cast<double>(row[j]) - max) * inv_t);
        if (run > target) {
          found = j;
          break;
        }
      }
      picked = found;
    }
    __syncthreads();
    if (threadIdx.x == 0) pred[m] = static_cast<int32_t>(picked >= 0 ? picked : arg);
    __syncthreads();
  }
}

__global__ void decode_choose_kernel(const int32_t* teacher, const int32_t* pred, int32_t* chosen, int64_t k,
                                     float teacher_ratio, uint64_t seed, uint64_t offset, int64_t index_base) {
  RNNLM_GRID_LOOP(m, k) {
    const uint64_t i = static_cast<uint64_t>(index_base + m);
    chosen[m] = philox_uniform(seed, offset, 2 * i) < teacher_ratio ? teacher[m] : pred[m];
  }
}

}  // namespace

void CudaBackend::decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio, float temperature,
                              uint64_t seed, uint64_t offset, int64_t index_base, Tensor& predicted, Tensor& chosen) {
  const int64_t rows = logits.dim(0), v = logits.dim(1);
  predicted = empty({rows}, DType::I32);
  if (rows > 0)
    RNNLM_LAUNCH(decode_pick_kernel, blocks_for(rows, 1), kThreads, stream(), logits.f32(), rows, v, temperature, seed,
                 offset, index_base, predicted.i32());
  if (!teacher.defined()) {
    chosen = predicted;
    return;
  }
  const int64_t k = teacher.dim(0);
  chosen = empty({k}, DType::I32);
  if (k > 0)
    RNNLM_LAUNCH(decode_choose_kernel, blocks_for(k), kThreads, stream(), teacher.i32(), predicted.i32(), chosen.i32(),
                 k, teacher_ratio, seed, offset, index_base);
}

}  // namespace rnnlm::cuda
