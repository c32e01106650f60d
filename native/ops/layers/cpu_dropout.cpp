// Inverted dropout with a Philox mask, so CPU and CUDA drop the same units for the same seed.
#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "cpu/philox_batch.h"

namespace rnnlm::cpu {

// x (any shape) -> y = x * mask, mask = (u >= p) / (1 - p), u = philox_uniform(seed, offset, i).
// The mask is kept (as floats) because the backward is the same product with dy.
void CpuBackend::dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset,
                                 Tensor& y, Tensor& mask) {
  y = empty(x.shape(), DType::F32);
  mask = empty(x.shape(), DType::F32);
  const float* px = x.f32();
  float* py = y.f32();
  float* pm = mask.f32();
  // p == 1 drops everything; 1 / (1 - p) would be infinite, and 0 * inf is NaN.
  const float keep_scale = p >= 1.0f ? 0.0f : 1.0f / (1.0f - p);
  parallel_for(x.numel(), 1 << 14, [=](int64_t b, int64_t e) {
    for_each_uniform(seed, offset, b, e, [=](int64_t i, float u) {
      const float m = u >= p ? keep_scale : 0.0f;
      pm[i] = m;
      py[i] = px[i] * m;
    });
  });
}

}  // namespace rnnlm::cpu
