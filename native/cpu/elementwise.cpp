// Element-wise passes over whole tensors: fill, axpy, scale, product, and a double-precision sum.
// Each splits the flat index range across the pool; chunks are large enough that a small
// tensor stays on the calling thread.
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "cpu_backend.h"

namespace rnnlm::cpu {

namespace {
constexpr int64_t kGrain = 1 << 15;     // elements per chunk: ~128 KiB of floats
constexpr int64_t kSumBlock = 1 << 14;  // fixed blocks so the sum does not depend on threads
}  // namespace

void CpuBackend::fill_(const Tensor& t, float value) {
  const int64_t n = t.numel();
  if (t.dtype() == DType::I32) {
    int32_t* p = t.i32();
    const int32_t v = static_cast<int32_t>(value);
    parallel_for(n, kGrain, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = v;
    });
    return;
  }
  float* p = t.f32();
  parallel_for(n, kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = value;
  });
}

// dst += alpha * src
void CpuBackend::add_(const Tensor& dst, const Tensor& src, float alpha) {
  float* d = dst.f32();
  const float* s = src.f32();
  parallel_for(dst.numel(), kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] += alpha * s[i];
  });
}

void CpuBackend::scale_(const Tensor& t, float alpha) {
  float* p = t.f32();
  parallel_for(t.numel(), kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] *= alpha;
  });
}

Tensor CpuBackend::mul(const Tensor& a, const Tensor& b) {
  Tensor out = empty(a.shape(), DType::F32);
  const float* x = a.f32();
  const float* y = b.f32();
  float* o = out.f32();
  parallel_for(a.numel(), kGrain, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) o[i] = x[i] * y[i];
  });
  return out;
}

// (1) = sum of every element, accumulated in double per fixed block and then across blocks in
// order, so the result is the same for any thread count.
Tensor CpuBackend::sum_all(const Tensor& t) {
  const float* p = t.f32();
  const int64_t n = t.numel();
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  double* part = partial.data();
  parallel_for(blocks, 2, [=](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t lo = blk * kSumBlock;
      const int64_t hi = lo + kSumBlock < n ? lo + kSumBlock : n;
      double acc = 0.0;
      for (int64_t i = lo; i < hi; ++i) acc += p[i];
      part[blk] = acc;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  Tensor out = empty({1}, DType::F32);
  out.f32()[0] = static_cast<float>(total);
  return out;
}

}  // namespace rnnlm::cpu
