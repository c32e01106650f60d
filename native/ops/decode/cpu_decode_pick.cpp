// The pick of each row's next input in autoregressive decoding (CPU; see decode_pick in
// core/backend_ops.def): argmax or a Philox-driven draw, and the Philox-driven choice between
// the true token and the prediction.
#include <cmath>

#include "core/philox.h"
#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"

namespace rnnlm::cpu {

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
