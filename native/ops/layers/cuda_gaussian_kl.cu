// e^x element-wise and the Gaussian KL term per row with its gradient (CUDA; see the op list in
// core/backend_ops.def and ops/layers/cpu_gaussian_kl.cpp).
#include <math.h>

#include "cuda/backend_class.h"
#include "cuda/context.cuh"
#include "cuda/kernels_common.cuh"

namespace rnnlm::cuda {

namespace {

__global__ void exp_kernel(const float* x, float* y, int64_t n) {
  RNNLM_GRID_LOOP(i, n) y[i] = expf(x[i]);
}

// kl[b] = -0.5 * sum_j (1 + logv - mean^2 - e^logv), one block per row, summed in double
__global__ void gaussian_kl_kernel(const float* mean, const float* logv, float* kl, int64_t rows, int64_t z) {
  __shared__ double shared[32];
  for (int64_t b = blockIdx.x; b < rows; b += gridDim.x) {
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < z; j += blockDim.x) {
      const double mu = mean[b * z + j], l = logv[b * z + j];
      acc += 1.0 + l - mu * mu - exp(l);
    }
    const double total = block_sum(acc, shared);
    if (threadIdx.x == 0) kl[b] = static_cast<float>(-0.5 * total);
  }
}

__global__ void gaussian_kl_backward_kernel(const float* mean, const float* logv, const float* dkl, float* dmean,
                                            float* dlogv, int64_t rows, int64_t z) {
  RNNLM_GRID_LOOP(i, rows * z) {
    const float g = dkl[i / z];
    dmean[i] = g * mean[i];
    dlogv[i] = 0.5f * g * (expf(logv[i]) - 1.0f);
  }
}

}  // namespace

Tensor CudaBackend::exp(const Tensor& x) {
  Tensor y = empty(x.shape(), DType::F32);
  const int64_t n = x.numel();
  if (n > 0) RNNLM_LAUNCH(exp_kernel, blocks_for(n), kThreads, stream(), x.f32(), y.f32(), n);
  return y;
}

Tensor CudaBackend::gaussian_kl(const Tensor& mean, const Tensor& logv) {
  const int64_t rows = mean.dim(0), z = mean.dim(1);
  Tensor kl = empty({rows}, DType::F32);
  if (rows > 0)
    RNNLM_LAUNCH(gaussian_kl_kernel, blocks_for(rows, 1), kThreads, stream(), mean.f32(), logv.f32(), kl.f32(), rows, z);
  return kl;
}

void CudaBackend::gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl, Tensor& dmean,
                                       Tensor& dlogv) {
  const int64_t rows = mean.dim(0), z = mean.dim(1);
  dmean = empty(mean.shape(), DType::F32);
  dlogv = empty(logv.shape(), DType::F32);
  if (rows * z > 0)
    RNNLM_LAUNCH(gaussian_kl_backward_kernel, blocks_for(rows * z), kThreads, stream(), mean.f32(), logv.f32(),
                 dkl.f32(), dmean.f32(), dlogv.f32(), rows, z);
}

}  // namespace rnnlm::cuda
