// Fused log-softmax + negative log-likelihood (nn.CrossEntropyLoss with ignore_index), and a
// plain log-softmax. One visit per row: max, then exp(x - max) written straight into the
// gradient row while summing, then that row is scaled into softmax * scale and the target's
// one-hot is subtracted. The only V-sized buffer is the gradient itself.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "cpu/isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: compiled once per CPU kernel variant

namespace {

constexpr int kLanes = 16;  // one AVX-512 register of floats; independent lanes let GCC vectorize

// exp(x) to about 1 ulp (Cephes expf polynomial), written branch-free so that loops over it
// vectorize: std::exp does not without -ffast-math. Inputs below -87 give 0 (true value < 2e-38).
inline float exp_lanes(float x) {
  const float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // Round x / ln2 to the nearest integer n by adding 1.5 * 2^23: n lands in the low mantissa bits.
  const float magic = 12582912.0f;
  const float t = xc * 1.44269504088896341f + magic;
  const float n = t - magic;
  uint32_t t_bits;
  std::memcpy(&t_bits, &t, sizeof t_bits);
  // Unsigned throughout: for x past the clamp or NaN these would be signed overflows; same bits.
  const uint32_t ni = t_bits - 0x4B400000u;  // bit pattern of `magic`
  // r = x - n ln2, with ln2 split in two so the product is exact.
  float r = xc - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const uint32_t scale_bits = (ni + 127u) << 23;
  float scale;
  std::memcpy(&scale, &scale_bits, sizeof scale);
  const float y = er * scale;
  return x < -87.0f ? 0.0f : y;
}

float row_max(const float* x, int64_t v) {
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= v; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
  float m = -std::numeric_limits<float>::infinity();
  for (int l = 0; l < kLanes; ++l) m = lane[l] > m ? lane[l] : m;
  for (; j < v; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// out[j] = exp(x[j] - max); returns the sum (lanes summed in a fixed order)
float exp_shifted_sum(const float* x, float max, float* out, int64_t v) {
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= v; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const float e = exp_lanes(x[j + l] - max);
      out[j + l] = e;
      lane[l] += e;
    }
  float tail = 0.0f;
  for (; j < v; ++j) {
    const float e = exp_lanes(x[j] - max);
    out[j] = e;
    tail += e;
  }
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += lane[l];
  return s + tail;
}

int64_t rows_grain(int64_t v) {
  const int64_t g = (1 << 15) / (v > 0 ? v : 1);
  return g > 0 ? g : 1;
}

}  // namespace

// logits (N, V), targets (N) -> loss (1), count (1), dlogits (N, V)
SoftmaxNllResult VariantOps::softmax_nll(const Tensor& logits, const Tensor& targets,
                                         int32_t ignore_index, Reduction reduction) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  const float* x = logits.f32();
  const int32_t* tg = targets.i32();

  int64_t count = 0;
  for (int64_t r = 0; r < n; ++r) count += tg[r] != ignore_index;
  // Mean over zero targets: the loss is 0/0 = NaN as in PyTorch, and every gradient row is
  // ignored anyway, so the scale never reaches a number.
  const float scale = reduction == Reduction::Mean ? (count > 0 ? 1.0f / static_cast<float>(count) : 0.0f)
                                                   : 1.0f;

  SoftmaxNllResult result;
  result.dlogits = empty({n, v}, DType::F32);
  float* grad = result.dlogits.f32();
  std::vector<double> row_loss(static_cast<size_t>(n), 0.0);
  double* rl = row_loss.data();

  parallel_for(n, rows_grain(v), [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * v;
      float* gr = grad + r * v;
      const int32_t t = tg[r];
      if (t == ignore_index) {
        std::memset(gr, 0, static_cast<size_t>(v) * sizeof(float));
        continue;
      }
      const float m = row_max(xr, v);
      const float sum = exp_shifted_sum(xr, m, gr, v);
      // -log softmax(x)[t] = log(sum) - (x[t] - max), as log_softmax computes it
      rl[r] = std::log(static_cast<double>(sum)) - static_cast<double>(xr[t] - m);
      const float k = scale / sum;
      for (int64_t j = 0; j < v; ++j) gr[j] *= k;
      gr[t] -= scale;
    }
  });

  double total = 0.0;
  for (int64_t r = 0; r < n; ++r) total += rl[r];
  if (reduction == Reduction::Mean) total /= static_cast<double>(count);  // 0/0 -> NaN

  result.loss = empty({1}, DType::F32);
  result.loss.f32()[0] = static_cast<float>(total);
  result.count = empty({1}, DType::F32);
  result.count.f32()[0] = static_cast<float>(count);
  return result;
}

// logits (N, V) -> (N, V): x - max - log(sum exp(x - max)), as torch.log_softmax
Tensor VariantOps::log_softmax(const Tensor& logits) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  Tensor out = empty({n, v}, DType::F32);
  const float* x = logits.f32();
  float* o = out.f32();
  parallel_for(n, rows_grain(v), [=](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * v;
      float* orow = o + r * v;
      const float m = row_max(xr, v);
      // The exponentials land in the output row only as scratch; it is overwritten next.
      const float log_sum = std::log(exp_shifted_sum(xr, m, orow, v));
      for (int64_t j = 0; j < v; ++j) orow[j] = (xr[j] - m) - log_sum;
    }
  });
  return out;
}

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
