// Global norm, clipping and optimizer steps against the torch.optim update rules written out in
// double, over several steps so that moment buffers and bias corrections are exercised.
#include "tests/test_harness.h"

using namespace rnnlm;
using test::random_tensor;
using test::to_double;

namespace {

void test_norms() {
  Tensor a = random_tensor({100, 30});
  Tensor b = random_tensor({70001});
  double sq = 0;
  for (const Tensor* t : {&a, &b})
    for (int64_t i = 0; i < t->numel(); ++i) sq += static_cast<double>(t->f32()[i]) * t->f32()[i];
  const double norm = std::sqrt(sq);
  CHECK_NEAR(ops::global_norm({a, b}).f32()[0], norm, 1e-5 * norm);
  CHECK(ops::global_norm({}).f32()[0] == 0.0f);

  // No clipping when the norm is below max_norm: tensors untouched, norm returned.
  std::vector<double> ra = to_double(a), rb = to_double(b);
  Tensor total = ops::clip_grad_norm_({a, b}, static_cast<float>(norm * 2));
  CHECK_NEAR(total.f32()[0], norm, 1e-5 * norm);
  CHECK_CLOSE(a.f32(), ra, 0, 1e-12);

  // Clipping: every tensor scaled by max_norm / (norm + 1e-6).
  const float max_norm = 1.5f;
  total = ops::clip_grad_norm_({a, b}, max_norm);
  CHECK_NEAR(total.f32()[0], norm, 1e-5 * norm);
  const double coef = max_norm / (norm + 1e-6);
  for (double& v : ra) v *= coef;
  for (double& v : rb) v *= coef;
  CHECK_CLOSE(a.f32(), ra, 1e-7, 1e-6);
  CHECK_CLOSE(b.f32(), rb, 1e-7, 1e-6);
  CHECK_NEAR(ops::global_norm({a, b}).f32()[0], max_norm, 1e-5);

  EXPECT_ERROR(code::kArgument, "clip_grad_norm_: max_norm must be > 0, got 0", [&] { ops::clip_grad_norm_({a}, 0.0f); });
  EXPECT_ERROR(code::kDType, "global_norm: tensors[1] must be f32",
               [&] { ops::global_norm({a, test::int_tensor({1})}); });
}

void test_adam(bool decoupled, double wd) {
  const Shape shape = {37, 11};
  Tensor p = random_tensor(shape), m = ops::zeros(shape, DType::F32, Device::CPU),
         v = ops::zeros(shape, DType::F32, Device::CPU);
  std::vector<double> rp = to_double(p), rm(rp.size(), 0.0), rv(rp.size(), 0.0);
  AdamOptions o;
  o.lr = 0.01;
  o.beta1 = 0.8;
  o.beta2 = 0.95;
  o.eps = 1e-6;
  o.weight_decay = wd;
  o.decoupled_weight_decay = decoupled;
  for (int64_t step = 1; step <= 4; ++step) {
    Tensor g = random_tensor(shape);
    o.step = step;
    ops::adam_step_(p, g, m, v, o);
    const double bc1 = 1 - std::pow(o.beta1, step), bc2 = 1 - std::pow(o.beta2, step);
    for (size_t i = 0; i < rp.size(); ++i) {
      double gi = g.f32()[i];
      if (decoupled) rp[i] *= 1 - o.lr * wd;
      else gi += wd * rp[i];
      rm[i] = o.beta1 * rm[i] + (1 - o.beta1) * gi;
      rv[i] = o.beta2 * rv[i] + (1 - o.beta2) * gi * gi;
      rp[i] -= (o.lr / bc1) * rm[i] / (std::sqrt(rv[i]) / std::sqrt(bc2) + o.eps);
    }
  }
  CHECK_CLOSE(p.f32(), rp, 1e-6, 1e-5);
  CHECK_CLOSE(m.f32(), rm, 1e-6, 1e-5);
  CHECK_CLOSE(v.f32(), rv, 1e-7, 1e-5);
}

void test_sgd(double momentum, double dampening, bool nesterov, double wd) {
  const Shape shape = {1001};
  Tensor p = random_tensor(shape);
  Tensor buf = momentum != 0 ? ops::zeros(shape, DType::F32, Device::CPU) : Tensor();
  std::vector<double> rp = to_double(p), rb(rp.size(), 0.0);
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = momentum;
  o.dampening = dampening;
  o.nesterov = nesterov;
  o.weight_decay = wd;
  for (int64_t step = 1; step <= 3; ++step) {
    Tensor g = random_tensor(shape);
    o.step = step;
    ops::sgd_step_(p, g, buf, o);
    for (size_t i = 0; i < rp.size(); ++i) {
      double d = g.f32()[i] + wd * rp[i];
      if (momentum != 0) {
        rb[i] = step == 1 ? d : momentum * rb[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * rb[i] : rb[i];
      }
      rp[i] -= o.lr * d;
    }
  }
  CHECK_CLOSE(p.f32(), rp, 1e-6, 1e-5);
  if (momentum != 0) CHECK_CLOSE(buf.f32(), rb, 1e-6, 1e-5);
}

void test_rmsprop(bool centered, double momentum, double wd) {
  const Shape shape = {513};
  Tensor p = random_tensor(shape);
  Tensor sq = ops::zeros(shape, DType::F32, Device::CPU);
  Tensor ga = centered ? ops::zeros(shape, DType::F32, Device::CPU) : Tensor();
  Tensor buf = momentum > 0 ? ops::zeros(shape, DType::F32, Device::CPU) : Tensor();
  std::vector<double> rp = to_double(p), rs(rp.size(), 0.0), rg(rp.size(), 0.0), rb(rp.size(), 0.0);
  RmspropOptions o;
  o.lr = 0.01;
  o.alpha = 0.9;
  o.eps = 1e-8;
  o.weight_decay = wd;
  o.momentum = momentum;
  o.centered = centered;
  for (int step = 1; step <= 3; ++step) {
    Tensor g = random_tensor(shape);
    ops::rmsprop_step_(p, g, sq, ga, buf, o);
    for (size_t i = 0; i < rp.size(); ++i) {
      const double gi = g.f32()[i] + wd * rp[i];
      rs[i] = o.alpha * rs[i] + (1 - o.alpha) * gi * gi;
      double avg;
      if (centered) {
        rg[i] = o.alpha * rg[i] + (1 - o.alpha) * gi;
        avg = std::sqrt(rs[i] - rg[i] * rg[i]) + o.eps;
      } else {
        avg = std::sqrt(rs[i]) + o.eps;
      }
      if (momentum > 0) {
        rb[i] = momentum * rb[i] + gi / avg;
        rp[i] -= o.lr * rb[i];
      } else {
        rp[i] -= o.lr * gi / avg;
      }
    }
  }
  CHECK_CLOSE(p.f32(), rp, 1e-6, 1e-4);
  CHECK_CLOSE(sq.f32(), rs, 1e-7, 1e-5);
}

void test_validation() {
  Tensor p = random_tensor({4}), g = random_tensor({4}), m = random_tensor({4}), v = random_tensor({4});
  AdamOptions a;
  a.beta1 = 1.0;
  EXPECT_ERROR(code::kArgument, "adam: beta1 must be in [0, 1), got 1", [&] { ops::adam_step_(p, g, m, v, a); });
  a = AdamOptions();
  a.lr = -1;
  EXPECT_ERROR(code::kArgument, "adam: lr must be a finite number >= 0, got -1", [&] { ops::adam_step_(p, g, m, v, a); });
  a = AdamOptions();
  a.step = 0;
  EXPECT_ERROR(code::kArgument, "adam: step must be >= 1", [&] { ops::adam_step_(p, g, m, v, a); });
  a = AdamOptions();
  EXPECT_ERROR(code::kShape, "adam: exp_avg must have the shape of param (4), got (5)",
               [&] { ops::adam_step_(p, g, random_tensor({5}), v, a); });
  a.decoupled_weight_decay = true;
  EXPECT_ERROR(code::kShape, "adamw: grad must have the shape of param",
               [&] { ops::adam_step_(p, random_tensor({2, 2}), m, v, a); });
  SgdOptions s;
  s.momentum = 0.9;
  EXPECT_ERROR(code::kArgument, "sgd: momentum_buffer is required", [&] { ops::sgd_step_(p, g, Tensor(), s); });
  s.nesterov = true;
  s.dampening = 0.1;
  EXPECT_ERROR(code::kArgument, "nesterov momentum requires", [&] { ops::sgd_step_(p, g, m, s); });
  RmspropOptions r;
  r.centered = true;
  EXPECT_ERROR(code::kArgument, "rmsprop: grad_avg is required", [&] { ops::rmsprop_step_(p, g, m, Tensor(), Tensor(), r); });
  r.centered = false;
  r.alpha = 1.5;
  EXPECT_ERROR(code::kArgument, "rmsprop: alpha must be in [0, 1]", [&] { ops::rmsprop_step_(p, g, m, Tensor(), Tensor(), r); });
  // Momentum 0: no buffer needed.
  SgdOptions plain;
  ops::sgd_step_(p, g, Tensor(), plain);
}

}  // namespace

int main() {
  test_norms();
  test_adam(false, 0.0);
  test_adam(false, 0.1);
  test_adam(true, 0.1);
  test_sgd(0.0, 0.0, false, 0.0);
  test_sgd(0.9, 0.0, false, 0.01);
  test_sgd(0.9, 0.3, false, 0.0);
  test_sgd(0.9, 0.0, true, 0.01);
  test_rmsprop(false, 0.0, 0.0);
  test_rmsprop(true, 0.0, 0.01);
  test_rmsprop(true, 0.5, 0.0);
  test_rmsprop(false, 0.5, 0.01);
  test_validation();
  return test::finish("test_optim");
}
