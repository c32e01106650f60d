// Gradient norm, clipping and the optimizer updates. Each update follows the single-tensor
// (for-loop) implementation in torch.optim step for step, in float with the scalar
// coefficients computed in double and rounded once, as PyTorch passes Python floats to its
// float kernels. Results agree with PyTorch's to an ulp or two (the compiler may fuse a
// multiply-add that PyTorch rounds in two steps), far below anything training can see.
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "cpu/isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: compiled once per CPU kernel variant

namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int64_t kBlock = 1 << 14;  // fixed blocks: the norm does not depend on thread count

double sum_of_squares(const Tensor& t) {
  const float* p = t.f32();
  const int64_t n = t.numel();
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
  double* part = partial.data();
  parallel_for(blocks, 2, [=](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t lo = blk * kBlock;
      const int64_t hi = lo + kBlock < n ? lo + kBlock : n;
      double acc = 0.0;
      for (int64_t i = lo; i < hi; ++i) acc += static_cast<double>(p[i]) * p[i];
      part[blk] = acc;
    }
  });
  double total = 0.0;
  for (double v : partial) total += v;
  return total;
}

double total_norm(const std::vector<Tensor>& tensors) {
  double sq = 0.0;
  for (const Tensor& t : tensors) sq += sum_of_squares(t);
  return std::sqrt(sq);
}

// torch.lerp on CPU: start + w (end - start) for |w| < 0.5, else end - (end - start)(1 - w).
// Both forms are computed and one selected, which keeps the callers' loops vectorizable.
inline float lerp(float start, float end, float w) {
  const float near_start = start + w * (end - start);
  const float near_end = end - (end - start) * (1.0f - w);
  return std::fabs(w) < 0.5f ? near_start : near_end;
}

}  // namespace

Tensor VariantOps::global_norm(const std::vector<Tensor>& tensors) {
  Tensor out = empty({1}, DType::F32);
  out.f32()[0] = static_cast<float>(total_norm(tensors));
  return out;
}

// torch.nn.utils.clip_grad_norm_: coef = max_norm / (total + 1e-6), applied only below 1.
Tensor VariantOps::clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) {
  const float total = static_cast<float>(total_norm(tensors));
  // PyTorch computes the coefficient with float32 tensor arithmetic.
  const float coef = max_norm / (total + 1e-6f);
  if (coef < 1.0f)
    for (const Tensor& t : tensors) scale_(t, coef);
  Tensor out = empty({1}, DType::F32);
  out.f32()[0] = total;
  return out;
}

// torch.optim.Adam / AdamW (decoupled_weight_decay), amsgrad = False, maximize = False:
//   wd:   AdamW p *= 1 - lr wd;  Adam g += wd p
//   m = lerp(m, g, 1 - beta1);  v = v beta2 + (1 - beta2) g g
//   p += (-lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),  bc_k = 1 - beta_k^step
void VariantOps::adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const AdamOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* m = exp_avg.f32();
  float* v = exp_avg_sq.f32();
  const bool coupled_wd = o.weight_decay != 0.0 && !o.decoupled_weight_decay;
  const bool decoupled_wd = o.weight_decay != 0.0 && o.decoupled_weight_decay;
  const float wd = static_cast<float>(o.weight_decay);
  const float decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
  const float w1 = static_cast<float>(1.0 - o.beta1);
  const float beta2 = static_cast<float>(o.beta2);
  const float w2 = static_cast<float>(1.0 - o.beta2);
  const double step = static_cast<double>(o.step);
  const double bc1 = 1.0 - std::pow(o.beta1, step);
  const double bc2 = 1.0 - std::pow(o.beta2, step);
  const float neg_step_size = static_cast<float>(-(o.lr / bc1));
  const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(o.eps);
  // The weight-decay mode is a template flag so the inner loop has no branches and vectorizes.
  auto run = [&](auto decoupled, auto coupled) {
    parallel_for(param.numel(), kGrain, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float gi = g[i];
        float pi = p[i];
        if constexpr (decltype(decoupled)::value) pi *= decay;
        if constexpr (decltype(coupled)::value) gi = gi + wd * pi;
        const float mi = lerp(m[i], gi, w1);
        const float vi = v[i] * beta2 + w2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = std::sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step_size * mi / denom;
      }
    });
  };
  if (decoupled_wd) run(std::true_type{}, std::false_type{});
  else if (coupled_wd) run(std::false_type{}, std::true_type{});
  else run(std::false_type{}, std::false_type{});
}

// torch.optim.SGD: g += wd p; with momentum: buf = g at step 1, else buf = momentum buf +
// (1 - dampening) g; nesterov uses g + momentum buf, else buf; p -= lr * that.
void VariantOps::sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                           const SgdOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* buf = o.momentum != 0.0 ? momentum_buffer.f32() : nullptr;
  const float wd = static_cast<float>(o.weight_decay);
  const bool has_wd = o.weight_decay != 0.0;
  const float mom = static_cast<float>(o.momentum);
  const float damp = static_cast<float>(1.0 - o.dampening);
  const bool first = o.step <= 1;
  const bool nesterov = o.nesterov;
  const float neg_lr = static_cast<float>(-o.lr);
  parallel_for(param.numel(), kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float d = g[i];
      if (has_wd) d = d + wd * p[i];
      if (buf != nullptr) {
        buf[i] = first ? d : buf[i] * mom + damp * d;
        d = nesterov ? d + mom * buf[i] : buf[i];
      }
      p[i] = p[i] + neg_lr * d;
    }
  });
}

// torch.optim.RMSprop: g += wd p; sq = alpha sq + (1 - alpha) g g; centered: ga = lerp(ga, g,
// 1 - alpha), avg = sqrt(sq - ga ga) + eps, else sqrt(sq) + eps; with momentum: buf = momentum
// buf + g / avg, p -= lr buf; else p += (-lr) g / avg.
void VariantOps::rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                               const Tensor& grad_avg, const Tensor& momentum_buffer,
                               const RmspropOptions& o) {
  float* p = param.f32();
  const float* g = grad.f32();
  float* sq = square_avg.f32();
  float* ga = o.centered ? grad_avg.f32() : nullptr;
  float* buf = o.momentum > 0.0 ? momentum_buffer.f32() : nullptr;
  const bool has_wd = o.weight_decay != 0.0;
  const float wd = static_cast<float>(o.weight_decay);
  const float alpha = static_cast<float>(o.alpha);
  const float w = static_cast<float>(1.0 - o.alpha);
  const float eps = static_cast<float>(o.eps);
  const float mom = static_cast<float>(o.momentum);
  const float neg_lr = static_cast<float>(-o.lr);
  auto run = [&](auto centered, auto with_momentum) {
    parallel_for(param.numel(), kGrain, [=](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float gi = g[i];
        if (has_wd) gi = gi + wd * p[i];
        const float si = sq[i] * alpha + w * gi * gi;
        sq[i] = si;
        float avg;
        if constexpr (decltype(centered)::value) {
          const float gai = lerp(ga[i], gi, w);
          ga[i] = gai;
          avg = std::sqrt(si + -1.0f * gai * gai) + eps;
        } else {
          avg = std::sqrt(si) + eps;
        }
        if constexpr (decltype(with_momentum)::value) {
          const float bi = buf[i] * mom + gi / avg;
          buf[i] = bi;
          p[i] = p[i] + neg_lr * bi;
        } else {
          p[i] = p[i] + neg_lr * gi / avg;
        }
      }
    });
  };
  const bool centered = ga != nullptr, with_momentum = buf != nullptr;
  if (centered && with_momentum) run(std::true_type{}, std::true_type{});
  else if (centered) run(std::true_type{}, std::false_type{});
  else if (with_momentum) run(std::false_type{}, std::true_type{});
  else run(std::false_type{}, std::false_type{});
}

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
