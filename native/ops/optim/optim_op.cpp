// Validated public API, part 4: gradient norms and optimizer steps. Scalar hyper-parameters are
// checked with torch.optim's rules, so a configuration PyTorch rejects is rejected here too.
#include "core/check.h"
#include "core/ops.h"

namespace rnnlm::ops {

namespace {

void check_tensor_list(const std::vector<Tensor>& tensors, const char* op) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const std::string name = "tensors[" + std::to_string(i) + "]";
    check::dtype(tensors[i], DType::F32, op, name.c_str());
    check::same_device(tensors[i], tensors[0], op, name.c_str(), "tensors[0]");
  }
}

// A state tensor (moment, buffer) that must match the parameter.
void check_state(const Tensor& t, const Tensor& param, const char* op, const char* name) {
  check::dtype(t, DType::F32, op, name);
  check::same_device(t, param, op, name, "param");
  check::same_shape(t, param, op, name, "param");
}

void check_param_grad(const Tensor& param, const Tensor& grad, const char* op) {
  check::dtype(param, DType::F32, op, "param");
  check_state(grad, param, op, "grad");
}

Tensor zero_norm() {
  Tensor out = cpu_backend().empty({1}, DType::F32);
  out.f32()[0] = 0.0f;
  return out;
}

}  // namespace

Tensor global_norm(const std::vector<Tensor>& tensors) {
  check_tensor_list(tensors, "global_norm");
  // No tensors: a norm of 0, as clip_grad_norm_ returns for an empty parameter list.
  if (tensors.empty()) return zero_norm();
  return backend_for(tensors[0].device()).global_norm(tensors);
}

Tensor clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) {
  check_tensor_list(tensors, "clip_grad_norm_");
  RNNLM_CHECK(max_norm > 0.0f, code::kArgument,
              "clip_grad_norm_: max_norm must be > 0, got " + check::fmt(max_norm));
  if (tensors.empty()) return zero_norm();
  return backend_for(tensors[0].device()).clip_grad_norm_(tensors, max_norm);
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                const Tensor& exp_avg_sq, const AdamOptions& o) {
  const char* op = o.decoupled_weight_decay ? "adamw" : "adam";
  check_param_grad(param, grad, op);
  check_state(exp_avg, param, op, "exp_avg");
  check_state(exp_avg_sq, param, op, "exp_avg_sq");
  check::non_negative(o.lr, op, "lr");
  check::in_range(o.beta1, 0.0, 1.0, true, op, "beta1");
  check::in_range(o.beta2, 0.0, 1.0, true, op, "beta2");
  check::non_negative(o.eps, op, "eps");
  check::non_negative(o.weight_decay, op, "weight_decay");
  RNNLM_CHECK(o.step >= 1, code::kArgument,
              std::string(op) + ": step must be >= 1 (1-based, after increment), got " +
                  std::to_string(o.step));
  backend_for(param.device()).adam_step_(param, grad, exp_avg, exp_avg_sq, o);
}

void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
               const SgdOptions& o) {
  const char* op = "sgd";
  check_param_grad(param, grad, op);
  check::non_negative(o.lr, op, "lr");
  check::non_negative(o.momentum, op, "momentum");
  check::finite(o.dampening, op, "dampening");
  check::non_negative(o.weight_decay, op, "weight_decay");
  RNNLM_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0), code::kArgument,
              "sgd: nesterov momentum requires momentum > 0 and dampening = 0, got momentum = " +
                  check::fmt(o.momentum) + ", dampening = " + check::fmt(o.dampening));
  RNNLM_CHECK(o.step >= 1, code::kArgument,
              "sgd: step must be >= 1 (1-based, after increment), got " + std::to_string(o.step));
  if (o.momentum != 0.0) check_state(momentum_buffer, param, op, "momentum_buffer");
  backend_for(param.device()).sgd_step_(param, grad, momentum_buffer, o);
}

void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                   const Tensor& grad_avg, const Tensor& momentum_buffer,
                   const RmspropOptions& o) {
  const char* op = "rmsprop";
  check_param_grad(param, grad, op);
  check_state(square_avg, param, op, "square_avg");
  check::non_negative(o.lr, op, "lr");
  check::in_range(o.alpha, 0.0, 1.0, false, op, "alpha");
  check::non_negative(o.eps, op, "eps");
  check::non_negative(o.weight_decay, op, "weight_decay");
  check::non_negative(o.momentum, op, "momentum");
  if (o.centered) check_state(grad_avg, param, op, "grad_avg");
  if (o.momentum > 0.0) check_state(momentum_buffer, param, op, "momentum_buffer");
  backend_for(param.device()).rmsprop_step_(param, grad, square_avg, grad_avg, momentum_buffer, o);
}

}  // namespace rnnlm::ops
