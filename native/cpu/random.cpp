// Philox fills. Element i depends only on (seed, offset, i), so any split across threads (and
// the CUDA backend) produces the same values.
#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu_backend.h"
#include "philox_batch.h"

namespace rnnlm::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}  // namespace

// t = low + (high - low) * u, u uniform in [0, 1)
void CpuBackend::uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset) {
  float* p = t.f32();
  const float range = high - low;
  parallel_for(t.numel(), kGrain, [=](int64_t b, int64_t e) {
    for_each_uniform(seed, offset, b, e, [=](int64_t i, float u) { p[i] = low + range * u; });
  });
}

// t = mean + std * z, z standard normal: exactly philox_normal(seed, offset, i), with the
// Philox blocks drawn a batch at a time (element i uses lanes 2(i%2), 2(i%2)+1 of block i/2).
void CpuBackend::normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) {
  float* p = t.f32();
  constexpr int64_t kSpan = 2 * kPhiloxBatch;  // elements per batch
  parallel_for(t.numel(), kGrain, [=](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i < e && i % kSpan != 0; ++i)
      p[i] = mean + std * philox_normal(seed, offset, static_cast<uint64_t>(i));
    uint32_t bits[4][kPhiloxBatch];
    for (; i + kSpan <= e; i += kSpan) {
      philox_batch(seed, offset, static_cast<uint64_t>(i) >> 1, bits);
      for (int j = 0; j < kSpan; ++j) {
        const int lane = (j & 1) * 2;
        // The same expressions as philox_normal, so the values are bit-identical.
        const float u1 = 1.0f - static_cast<float>(bits[lane][j >> 1] >> 8) * (1.0f / 16777216.0f);
        const float u2 = static_cast<float>(bits[lane + 1][j >> 1] >> 8) * (1.0f / 16777216.0f);
        const float radius = sqrtf(-2.0f * logf(u1));
        p[i + j] = mean + std * (radius * cosf(6.283185307179586f * u2));
      }
    }
    for (; i < e; ++i) p[i] = mean + std * philox_normal(seed, offset, static_cast<uint64_t>(i));
  });
}

}  // namespace rnnlm::cpu
