// Bindings for the optimisation ops (ops.h): global norm, gradient clipping and the in-place
// optimizer steps. Options objects use camelCase names; missing fields take the engine defaults.
#include "args.h"
#include "core/ops.h"
#include "errors.h"
#include "exports.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

Napi::Value GlobalNorm(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::global_norm(ToTensorList(Arg(info, 0), "tensors")));
}

Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::clip_grad_norm_(ToTensorList(Arg(info, 0), "tensors"),
                                                             ToFloat(Arg(info, 1), "maxNorm")));
}

// adamStep_(param, grad, expAvg, expAvgSq,
//           {lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step})
Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Napi::Object o = ToObject(Arg(info, 4), "options");
  AdamOptions options;
  options.lr = GetNumberOr(o, "lr", options.lr);
  options.beta1 = GetNumberOr(o, "beta1", options.beta1);
  options.beta2 = GetNumberOr(o, "beta2", options.beta2);
  options.eps = GetNumberOr(o, "eps", options.eps);
  options.weight_decay = GetNumberOr(o, "weightDecay", options.weight_decay);
  options.decoupled_weight_decay = GetBoolOr(o, "decoupledWeightDecay", options.decoupled_weight_decay);
  options.step = GetInt64Or(o, "step", options.step);
  ops::adam_step_(ToTensor(Arg(info, 0), "param"), ToTensor(Arg(info, 1), "grad"),
                  ToTensor(Arg(info, 2), "expAvg"), ToTensor(Arg(info, 3), "expAvgSq"), options);
  return info.Env().Undefined();
}

// sgdStep_(param, grad, momentumBuffer | null,
//          {lr, momentum, dampening, weightDecay, nesterov, step})
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Napi::Object o = ToObject(Arg(info, 3), "options");
  SgdOptions options;
  options.lr = GetNumberOr(o, "lr", options.lr);
  options.momentum = GetNumberOr(o, "momentum", options.momentum);
  options.dampening = GetNumberOr(o, "dampening", options.dampening);
  options.weight_decay = GetNumberOr(o, "weightDecay", options.weight_decay);
  options.nesterov = GetBoolOr(o, "nesterov", options.nesterov);
  options.step = GetInt64Or(o, "step", options.step);
  ops::sgd_step_(ToTensor(Arg(info, 0), "param"), ToTensor(Arg(info, 1), "grad"),
                 ToOptionalTensor(Arg(info, 2), "momentumBuffer"), options);
  return info.Env().Undefined();
}

// rmspropStep_(param, grad, squareAvg, gradAvg | null, momentumBuffer | null,
//              {lr, alpha, eps, weightDecay, momentum, centered})
Napi::Value RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Object o = ToObject(Arg(info, 5), "options");
  RmspropOptions options;
  options.lr = GetNumberOr(o, "lr", options.lr);
  options.alpha = GetNumberOr(o, "alpha", options.alpha);
  options.eps = GetNumberOr(o, "eps", options.eps);
  options.weight_decay = GetNumberOr(o, "weightDecay", options.weight_decay);
  options.momentum = GetNumberOr(o, "momentum", options.momentum);
  options.centered = GetBoolOr(o, "centered", options.centered);
  ops::rmsprop_step_(ToTensor(Arg(info, 0), "param"), ToTensor(Arg(info, 1), "grad"),
                     ToTensor(Arg(info, 2), "squareAvg"),
                     ToOptionalTensor(Arg(info, 3), "gradAvg"),
                     ToOptionalTensor(Arg(info, 4), "momentumBuffer"), options);
  return info.Env().Undefined();
}

}  // namespace

void RegisterOptimOps(Napi::Env env, Napi::Object exports) {
  exports.Set("globalNorm", Napi::Function::New(env, Safe<GlobalNorm>, "globalNorm"));
  exports.Set("clipGradNorm_", Napi::Function::New(env, Safe<ClipGradNorm>, "clipGradNorm_"));
  exports.Set("adamStep_", Napi::Function::New(env, Safe<AdamStep>, "adamStep_"));
  exports.Set("sgdStep_", Napi::Function::New(env, Safe<SgdStep>, "sgdStep_"));
  exports.Set("rmspropStep_", Napi::Function::New(env, Safe<RmspropStep>, "rmspropStep_"));
}

}  // namespace rnnlm::bindings
