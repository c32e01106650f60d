// e^x element-wise and the Gaussian KL term per row with its gradient (CPU; see the op list in
// core/backend_ops.def).
#include <cmath>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"

namespace rnnlm::cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}  // namespace

Tensor CpuBackend::exp(const Tensor& x) {
  Tensor y = empty(x.shape(), DType::F32);
  const float* px = x.f32();
  float* py = y.f32();
  parallel_for(x.numel(), kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = std::exp(px[i]);
  });
  return y;
}

// (B, Z) -> (B): -0.5 * sum_j (1 + logv - mean^2 - e^logv), each row summed in double.
Tensor CpuBackend::gaussian_kl(const Tensor& mean, const Tensor& logv) {
  const int64_t rows = mean.dim(0), z = mean.dim(1);
  Tensor kl = empty({rows}, DType::F32);
  const float* m = mean.f32();
  const float* lv = logv.f32();
  float* out = kl.f32();
  parallel_for(rows, 64, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      double acc = 0.0;
      for (int64_t j = 0; j < z; ++j) {
        const double mu = m[b * z + j], l = lv[b * z + j];
        acc += 1.0 + l - mu * mu - std::exp(l);
      }
      out[b] = static_cast<float>(-0.5 * acc);
    }
  });
  return kl;
}

void CpuBackend::gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl,
                                      Tensor& dmean, Tensor& dlogv) {
  const int64_t rows = mean.dim(0), z = mean.dim(1);
  dmean = empty(mean.shape(), DType::F32);
  dlogv = empty(logv.shape(), DType::F32);
  const float* m = mean.f32();
  const float* lv = logv.f32();
  const float* g = dkl.f32();
  float* dm = dmean.f32();
  float* dl = dlogv.f32();
  parallel_for(rows, 64, [=](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      for (int64_t j = 0; j < z; ++j) {
        const int64_t i = b * z + j;
        dm[i] = g[b] * m[i];
        dl[i] = 0.5f * g[b] * (std::exp(lv[i]) - 1.0f);
      }
    }
  });
}

}  // namespace rnnlm::cpu
