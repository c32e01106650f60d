// Gradient norm, clipping and the optimizer updates. The norm is reduced on the device and the
// clip coefficient computed there from it, so clipping never waits for the host. Each update is
// the CPU backend's (ops/optim/cpu_optim.cpp): torch.optim's single-tensor formulas in float with
// the scalar coefficients computed in double on the host and rounded once.
#include <cmath>
#include <vector>

#include "cuda/backend_class.h"
#include "cuda/context.cuh"
#include "cuda/reduce.cuh"

namespace rnnlm::cuda {

namespace {

// torch.lerp: start + w (end - start) for |w| < 0.5, else end - (end - start)(1 - w)
__device__ __forceinline__ float lerp_(float start, float end, float w) {
  return fabsf(w) < 0.5f ? start + w * (end - start) : end - (end - start) * (1.0f - w);
}

__global__ void clip_kernel(float* p, int64_t n, const float* total, float max_norm) {
  const float coef = max_norm / (total[0] + 1e-6f);
  if (coef >= 1.0f) return;
  RNNLM_GRID_LOOP(i, n) p[i] *= coef;
}

struct AdamScalars {
  int decoupled, coupled;
  float wd, decay, w1, beta2, w2, neg_step_size, bc2_sqrt, eps;
};

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamScalars a) {
  RNNLM_GRID_LOOP(i, n) {
    float gi = g[i];
    float pi = p[i];
    if (a.decoupled) pi *= a.decay;
    if (a.coupled) gi = gi + a.wd * pi;
    const float mi = lerp_(m[i], gi, a.w1);
    const float vi = v[i] * a.beta2 + a.w2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float denom = sqrtf(vi) / a.bc2_sqrt + a.eps;
    p[i] = pi + a.neg_step_size * mi / denom;
  }
}

struct SgdScalars {
  int has_wd, first, nesterov;
  float wd, mom, damp, neg_lr;
};

__global__ void sgd_kernel(float* p, const float* g, float* buf, int64_t n, SgdScalars s) {
  RNNLM_GRID_LOOP(i, n) {
    float d = g[i];
    if (s.has_wd) d = d + s.wd * p[i];
    if (buf != nullptr) {
      buf[i] = s.first ? d : buf[i] * s.mom + s.damp * d;
      d = s.nesterov ? d + s.mom * buf[i] : buf[i];
    }
    p[i] = p[i] + s.neg_lr * d;
  }
}

struct RmspropScalars {
  int has_wd;
  float wd, alpha, w, eps, mom, neg_lr;
};

__global__ void rmsprop_kernel(float* p, const float* g, float* sq, float* ga, float* buf, int64_t n, RmspropScalars s) {
  RNNLM_GRID_LOOP(i, n) {
    float gi = g[i];
    if (s.has_wd) gi = gi + s.wd * p[i];
    const float si = sq[i] * s.alpha + s.w * gi * gi;
    sq[i] = si;
    float avg;
    if (ga != nullptr) {
      const float gai = lerp_(ga[i], gi, s.w);
      ga[i] = gai;
      avg = sqrtf(si + -1.0f * gai * gai) + s.eps;
    } else {
      avg = sqrtf(si) + s.eps;
    }
    if (buf != nullptr) {
      const float bi = buf[i] * s.mom + gi / avg;
      buf[i] = bi;
      p[i] = p[i] + s.neg_lr * bi;
    } else {
      p[i] = p[i] + s.neg_lr * gi / avg;
    }
  }
}

// (1) = sqrt of the sum of squares of every tensor: partial sums of all tensors side by side,
// then one ordered pass over them.
Tensor total_norm(CudaBackend& be, const std::vector<Tensor>& tensors) {
  int64_t count = 0;
  for (const Tensor& t : tensors) count += partials_for(t.numel());
  Tensor partials = be.empty({2 * count}, DType::F32);  // doubles
  double* p = static_cast<double*>(partials.data());
  int64_t at = 0;
  for (const Tensor& t : tensors) {
    partial_sums(t.f32(), t.numel(), true, p + at, stream());
    at += partials_for(t.numel());
  }
  Tensor out = be.empty({1}, DType::F32);
  finish_sum(p, count, true, out.f32(), stream());
  return out;
}

}  // namespace

Tensor CudaBackend::global_norm(const std::vector<Tensor>& tensors) { return total_norm(*this, tensors); }

// torch.nn.utils.clip_grad_norm_: coef = max_norm / (total + 1e-6), applied only below 1.
Tensor CudaBackend::clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) {
  Tensor total = total_norm(*this, tensors);
  for (const Tensor& t : tensors) {
    const int64_t n = t.numel();
    if (n > 0) RNNLM_LAUNCH(clip_kernel, blocks_for(n), kThreads, stream(), t.f32(), n, total.f32(), max_norm);
  }
  return total;
}

void CudaBackend::adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                             const AdamOptions& o) {
  AdamScalars a;
  a.coupled = o.weight_decay != 0.0 && !o.decoupled_weight_decay;
  a.decoupled = o.weight_decay != 0.0 && o.decoupled_weight_decay;
  a.wd = static_cast<float>(o.weight_decay);
  a.decay = static_cast<float>(1.0 - o.lr * o.weight_decay);
  a.w1 = static_cast<float>(1.0 - o.beta1);
  a.beta2 = static_cast<float>(o.beta2);
  a.w2 = static_cast<float>(1.0 - o.beta2);
  const double step = static_cast<double>(o.step);
  const double bc1 = 1.0 - std::pow(o.beta1, step);
  const double bc2 = 1.0 - std::pow(o.beta2, step);
  a.neg_step_size = static_cast<float>(-(o.lr / bc1));
  a.bc2_sqrt = static_cast<float>(std::sqrt(bc2));
  a.eps = static_cast<float>(o.eps);
  const int64_t n = param.numel();
  if (n > 0)
    RNNLM_LAUNCH(adam_kernel, blocks_for(n), kThreads, stream(), param.f32(), grad.f32(), exp_avg.f32(),
                 exp_avg_sq.f32(), n, a);
}

void CudaBackend::sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                            const SgdOptions& o) {
  SgdScalars s;
  s.has_wd = o.weight_decay != 0.0;
  s.first = o.step <= 1;
  s.nesterov = o.nesterov;
  s.wd = static_cast<float>(o.weight_decay);
  s.mom = static_cast<float>(o.momentum);
  s.damp = static_cast<float>(1.0 - o.dampening);
  s.neg_lr = static_cast<float>(-o.lr);
  float* buf = o.momentum != 0.0 ? momentum_buffer.f32() : nullptr;
  const int64_t n = param.numel();
  if (n > 0) RNNLM_LAUNCH(sgd_kernel, blocks_for(n), kThreads, stream(), param.f32(), grad.f32(), buf, n, s);
}

void CudaBackend::rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                                const Tensor& grad_avg, const Tensor& momentum_buffer, const RmspropOptions& o) {
  RmspropScalars s;
  s.has_wd = o.weight_decay != 0.0;
  s.wd = static_cast<float>(o.weight_decay);
  s.alpha = static_cast<float>(o.alpha);
  s.w = static_cast<float>(1.0 - o.alpha);
  s.eps = static_cast<float>(o.eps);
  s.mom = static_cast<float>(o.momentum);
  s.neg_lr = static_cast<float>(-o.lr);
  float* ga = o.centered ? grad_avg.f32() : nullptr;
  float* buf = o.momentum > 0.0 ? momentum_buffer.f32() : nullptr;
  const int64_t n = param.numel();
  if (n > 0)
    RNNLM_LAUNCH(rmsprop_kernel, blocks_for(n), kThreads, stream(), param.f32(), grad.f32(), square_avg.f32(), ga, buf,
                 n, s);
}

}  // namespace rnnlm::cuda
