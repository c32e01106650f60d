// Philox fills and dropout. Every element is philox_uniform / philox_normal(seed, offset, i),
// the very functions the CPU backend uses (core/philox.h is host and device code), so both
// backends draw the same numbers and drop the same units for the same seed.
#include "core/philox.h"
#include "backend_class.h"
#include "context.cuh"

namespace rnnlm::cuda {

namespace {

__global__ void uniform_kernel(float* p, int64_t n, float low, float range, uint64_t seed, uint64_t offset) {
  RNNLM_GRID_LOOP(i, n) p[i] = low + range * philox_uniform(seed, offset, static_cast<uint64_t>(i));
}

__global__ void normal_kernel(float* p, int64_t n, float mean, float std, uint64_t seed, uint64_t offset) {
  RNNLM_GRID_LOOP(i, n) p[i] = mean + std * philox_normal(seed, offset, static_cast<uint64_t>(i));
}

// y = x * mask, mask = (u >= p) * keep_scale: the mask is kept for the backward.
__global__ void dropout_kernel(const float* x, float* y, float* mask, int64_t n, float p, float keep_scale,
                               uint64_t seed, uint64_t offset) {
  RNNLM_GRID_LOOP(i, n) {
    const float m = philox_uniform(seed, offset, static_cast<uint64_t>(i)) >= p ? keep_scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

}  // namespace

void CudaBackend::uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset) {
  const int64_t n = t.numel();
  if (n == 0) return;
  RNNLM_LAUNCH(uniform_kernel, blocks_for(n), kThreads, stream(), t.f32(), n, low, high - low, seed, offset);
}

void CudaBackend::normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) {
  const int64_t n = t.numel();
  if (n == 0) return;
  RNNLM_LAUNCH(normal_kernel, blocks_for(n), kThreads, stream(), t.f32(), n, mean, std, seed, offset);
}

void CudaBackend::dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& y, Tensor& mask) {
  y = empty(x.shape(), DType::F32);
  mask = empty(x.shape(), DType::F32);
  const int64_t n = x.numel();
  // p == 1 drops everything; 1 / (1 - p) would be infinite, and 0 * inf is NaN.
  const float keep_scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
  if (n == 0) return;
  RNNLM_LAUNCH(dropout_kernel, blocks_for(n), kThreads, stream(), x.f32(), y.f32(), mask.f32(), n, p, keep_scale,
               seed, offset);
}

}  // namespace rnnlm::cuda
