// Embedding lookup and its gradient. ids were range-checked by ops.cpp.
#include <cstring>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"

namespace rnnlm::cpu {

// weight (V, E), ids S -> S ++ (E)
Tensor CpuBackend::embedding_forward(const Tensor& weight, const Tensor& ids) {
  const int64_t e = weight.dim(1);
  Shape out_shape = ids.shape();
  out_shape.push_back(e);
  Tensor out = empty(out_shape, DType::F32);
  const float* w = weight.f32();
  const int32_t* ix = ids.i32();
  float* o = out.f32();
  const size_t row_bytes = static_cast<size_t>(e) * sizeof(float);
  const int64_t grain = e > 0 ? ((1 << 14) / e > 0 ? (1 << 14) / e : 1) : 1;
  parallel_for(ids.numel(), grain, [=](int64_t b, int64_t end) {
    for (int64_t r = b; r < end; ++r)
      std::memcpy(o + r * e, w + static_cast<int64_t>(ix[r]) * e, row_bytes);
  });
  return out;
}

// dy S ++ (E), ids S -> dweight (V, E): row ids[r] += dy[r]. Threads own column bands so that
// repeated ids never race and the sum order (r ascending) is fixed.
Tensor CpuBackend::embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  const int64_t n = ids.numel();
  const int64_t width = dy.dim(-1);
  Tensor dw = empty({vocab, width}, DType::F32);
  fill_(dw, 0.0f);
  const float* g = dy.f32();
  const int32_t* ix = ids.i32();
  float* out = dw.f32();
  const int64_t grain_cols = n > 0 && (1 << 14) / n > 16 ? (1 << 14) / n : 16;
  parallel_for(width, grain_cols, [=](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < n; ++r) {
      float* o = out + static_cast<int64_t>(ix[r]) * width;
      const float* s = g + r * width;
      for (int64_t c = c0; c < c1; ++c) o[c] += s[c];
    }
  });
  return dw;
}

}  // namespace rnnlm::cpu
