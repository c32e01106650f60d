// The sentence VAE's CPU kernels: exp, the Gaussian KL term per row and its gradient, and the
// pick of each row's next input in step-by-step decoding (argmax or a Philox-driven draw, and
// the Philox-driven choice between the true word and the prediction).
#include <cmath>

#include "../core/philox.h"
#include "../core/thread_pool.h"
#include "cpu_backend.h"

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

namespace {

// The first index of the largest value (NaN never wins).
int32_t argmax_row(const float* row, int64_t v) {
  int64_t best = 0;
  for (int64_t j = 1; j < v; ++j)
    if (row[j] > row[best]) best = j;
  return static_cast<int32_t>(best);
}

// A draw from softmax(row / temperature): the first id whose running probability mass exceeds
// u times the total (ids in order), accumulated in double.
int32_t sample_row(const float* row, int64_t v, float temperature, float u) {
  float max = row[0];
  for (int64_t j = 1; j < v; ++j) max = row[j] > max ? row[j] : max;
  const double inv_t = 1.0 / temperature;
  double total = 0.0;
  for (int64_t j = 0; j < v; ++j) total += std::exp((static_cast<double>(row[j]) - max) * inv_t);
  if (!(total > 0.0) || !std::isfinite(total)) return argmax_row(row, v);
  const double target = static_cast<double>(u) * total;
  double acc = 0.0;
  for (int64_t j = 0; j < v; ++j) {
    acc += std::exp((static_cast<double>(row[j]) - max) * inv_t);
    if (acc > target) return static_cast<int32_t>(j);
  }
  return argmax_row(row, v);  // rounding left the walk short of u * total
}

}  // namespace

void CpuBackend::decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio,
                             float temperature, uint64_t seed, uint64_t offset, int64_t index_base,
                             Tensor& predicted, Tensor& chosen) {
  const int64_t rows = logits.dim(0), v = logits.dim(1);
  predicted = empty({rows}, DType::I32);
  const float* x = logits.f32();
  int32_t* pred = predicted.i32();
  parallel_for(rows, 1, [=](int64_t b0, int64_t b1) {
    for (int64_t m = b0; m < b1; ++m) {
      const float* row = x + m * v;
      if (temperature == 0.0f) {
        pred[m] = argmax_row(row, v);
      } else {
        const uint64_t i = static_cast<uint64_t>(index_base + m);
        pred[m] = sample_row(row, v, temperature, philox_uniform(seed, offset, 2 * i + 1));
      }
    }
  });
  if (!teacher.defined()) {
    chosen = predicted;
    return;
  }
  const int64_t k = teacher.dim(0);
  chosen = empty({k}, DType::I32);
  const int32_t* tr = teacher.i32();
  int32_t* out = chosen.i32();
  for (int64_t m = 0; m < k; ++m) {
    const uint64_t i = static_cast<uint64_t>(index_base + m);
    out[m] = philox_uniform(seed, offset, 2 * i) < teacher_ratio ? tr[m] : pred[m];
  }
}

}  // namespace rnnlm::cpu
