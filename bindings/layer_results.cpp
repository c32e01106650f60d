#include "layer_results.h"

#include "args.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

Napi::Object LayerForwardToJs(Napi::Env env, const LayerForward& forward) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("y", NativeTensor::Wrap(env, forward.y));
  out.Set("hN", NativeTensor::Wrap(env, forward.h_n));
  out.Set("cN", NativeTensor::WrapOptional(env, forward.c_n));
  out.Set("workspace", NativeTensor::Wrap(env, forward.workspace));
  return out;
}

LayerForward LayerForwardFromJs(const Napi::Value& value, const std::string& name) {
  Napi::Object object = ToObject(value, name.c_str());
  LayerForward forward;
  forward.y = ToTensor(object.Get("y"), (name + ".y").c_str());
  forward.h_n = ToTensor(object.Get("hN"), (name + ".hN").c_str());
  forward.c_n = ToOptionalTensor(object.Get("cN"), (name + ".cN").c_str());
  forward.workspace = ToTensor(object.Get("workspace"), (name + ".workspace").c_str());
  return forward;
}

Napi::Object LayerGradientsToJs(Napi::Env env, const LayerGradients& g, bool with_dx) {
  Napi::Object out = Napi::Object::New(env);
  if (with_dx) out.Set("dx", NativeTensor::Wrap(env, g.dx));
  out.Set("dh0", NativeTensor::Wrap(env, g.dh0));
  out.Set("dc0", NativeTensor::WrapOptional(env, g.dc0));
  out.Set("dwIh", NativeTensor::Wrap(env, g.dw_ih));
  out.Set("dwHh", NativeTensor::Wrap(env, g.dw_hh));
  out.Set("dbIh", NativeTensor::WrapOptional(env, g.db_ih));
  out.Set("dbHh", NativeTensor::WrapOptional(env, g.db_hh));
  return out;
}

}  // namespace rnnlm::bindings
