// Bindings for autoregressive decoding (ops/decode/decode_op.h): decodePick and the step-by-step
// stack. Field names are camelCase; absent optional tensors are null.
#include <string>
#include <vector>

#include "args.h"
#include "ops/decode/decode_op.h"
#include "errors.h"
#include "exports.h"
#include "layer_results.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

// decodePick(logits, teacher?, teacherRatio, temperature, seed, offset, indexBase)
//   -> {predicted, chosen}
Napi::Value DecodePick(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor predicted, chosen;
  ops::decode_pick(ToTensor(Arg(info, 0), "logits"), ToOptionalTensor(Arg(info, 1), "teacher"),
                   ToFloat(Arg(info, 2), "teacherRatio"), ToFloat(Arg(info, 3), "temperature"),
                   ToUint64(Arg(info, 4), "seed"), ToUint64(Arg(info, 5), "offset"),
                   ToInt64(Arg(info, 6), "indexBase"), predicted, chosen);
  Napi::Object out = Napi::Object::New(env);
  out.Set("predicted", NativeTensor::Wrap(env, predicted));
  out.Set("chosen", NativeTensor::Wrap(env, chosen));
  return out;
}

// {cell, fused, batchSizes, teacherRatio, temperature, seed, offset, stopId}
ops::DecodeSpec ToDecodeSpec(const Napi::Value& value) {
  Napi::Object object = ToObject(value, "spec");
  ops::DecodeSpec spec;
  spec.cell = parse_cell_kind(ToString(object.Get("cell"), "spec.cell"));
  spec.fused = GetBoolOr(object, "fused", true);
  spec.batch_sizes = ToInt32Vector(object.Get("batchSizes"), "spec.batchSizes");
  spec.teacher_ratio = static_cast<float>(GetNumberOr(object, "teacherRatio", 0.0));
  spec.temperature = static_cast<float>(GetNumberOr(object, "temperature", 0.0));
  Napi::Value seed = object.Get("seed"), offset = object.Get("offset");
  spec.seed = seed.IsUndefined() ? 0 : ToUint64(seed, "spec.seed");
  spec.offset = offset.IsUndefined() ? 0 : ToUint64(offset, "spec.offset");
  const int64_t stop = GetInt64Or(object, "stopId", -1);
  if (stop < -1 || stop > INT32_MAX) ThrowArgument(value.Env(), "spec.stopId must be -1 or a token id");
  spec.stop_id = static_cast<int32_t>(stop);
  return spec;
}

// {embedding, layers: [{wIh, wHh, bIh, bHh}], outW, outB}
ops::DecodeWeights ToDecodeWeights(const Napi::Value& value) {
  Napi::Object object = ToObject(value, "weights");
  ops::DecodeWeights w;
  w.embedding = ToTensor(object.Get("embedding"), "weights.embedding");
  Napi::Value layers = object.Get("layers");
  if (!layers.IsArray()) ThrowArgument(value.Env(), "weights.layers must be an array");
  Napi::Array array = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) w.layers.push_back(ToLayerWeights(array.Get(i), "weights.layers[i]"));
  w.out_w = ToTensor(object.Get("outW"), "weights.outW");
  w.out_b = ToOptionalTensor(object.Get("outB"), "weights.outB");
  return w;
}

// An array of NativeTensor | null (one state per layer), or null / undefined for none.
std::vector<Tensor> ToStateList(const Napi::Value& value, const char* name) {
  std::vector<Tensor> out;
  if (IsAbsent(value)) return out;
  if (!value.IsArray()) ThrowArgument(value.Env(), std::string(name) + " must be an array of NativeTensors or null");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(ToOptionalTensor(array.Get(i), name));
  return out;
}

Napi::Int32Array ToJsInt32(Napi::Env env, const std::vector<int32_t>& values) {
  Napi::Int32Array array = Napi::Int32Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array[i] = values[i];
  return array;
}

// autoregressiveDecodeForward(spec, inputs, weights, h0[]?, c0[]?, inputMask?)
//   -> {batchSizes, inputs, predicted, x, logits, layers: [{y, hN, cN, workspace}]}
Napi::Value AutoregressiveDecodeForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ops::DecodeSpec spec = ToDecodeSpec(Arg(info, 0));
  const Tensor inputs = ToTensor(Arg(info, 1), "inputs");
  const ops::DecodeWeights weights = ToDecodeWeights(Arg(info, 2));
  const std::vector<Tensor> h0 = ToStateList(Arg(info, 3), "h0");
  const std::vector<Tensor> c0 = ToStateList(Arg(info, 4), "c0");
  const Tensor mask = ToOptionalTensor(Arg(info, 5), "inputMask");
  const ops::DecodeForward f = ops::autoregressive_decode_forward(spec, inputs, weights, h0, c0, mask);
  Napi::Object out = Napi::Object::New(env);
  out.Set("batchSizes", ToJsInt32(env, f.batch_sizes));
  out.Set("inputs", NativeTensor::Wrap(env, f.inputs));
  out.Set("predicted", NativeTensor::Wrap(env, f.predicted));
  out.Set("x", NativeTensor::Wrap(env, f.x));
  out.Set("logits", NativeTensor::Wrap(env, f.logits));
  Napi::Array layers = Napi::Array::New(env, f.layers.size());
  for (size_t l = 0; l < f.layers.size(); ++l) layers.Set(static_cast<uint32_t>(l), LayerForwardToJs(env, f.layers[l]));
  out.Set("layers", layers);
  return out;
}

ops::DecodeForward ToDecodeForward(const Napi::Value& value) {
  Napi::Object object = ToObject(value, "forward");
  ops::DecodeForward f;
  f.batch_sizes = ToInt32Vector(object.Get("batchSizes"), "forward.batchSizes");
  f.inputs = ToTensor(object.Get("inputs"), "forward.inputs");
  f.x = ToTensor(object.Get("x"), "forward.x");
  Napi::Value layers = object.Get("layers");
  if (!layers.IsArray()) ThrowArgument(value.Env(), "forward.layers must be an array");
  Napi::Array array = layers.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) f.layers.push_back(LayerForwardFromJs(array.Get(i), "forward.layers[i]"));
  return f;
}

// autoregressiveDecodeBackward(spec, weights, h0[]?, c0[]?, inputMask?, forward, dlogits)
//   -> {dEmbedding, layers: [{dh0, dc0, dwIh, dwHh, dbIh, dbHh}], dOutW, dOutB}
Napi::Value AutoregressiveDecodeBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ops::DecodeSpec spec = ToDecodeSpec(Arg(info, 0));
  const ops::DecodeWeights weights = ToDecodeWeights(Arg(info, 1));
  const std::vector<Tensor> h0 = ToStateList(Arg(info, 2), "h0");
  const std::vector<Tensor> c0 = ToStateList(Arg(info, 3), "c0");
  const Tensor mask = ToOptionalTensor(Arg(info, 4), "inputMask");
  const ops::DecodeForward forward = ToDecodeForward(Arg(info, 5));
  const Tensor dlogits = ToTensor(Arg(info, 6), "dlogits");
  const ops::DecodeGradients g = ops::autoregressive_decode_backward(spec, weights, h0, c0, mask, forward, dlogits);
  Napi::Object out = Napi::Object::New(env);
  out.Set("dEmbedding", NativeTensor::Wrap(env, g.d_embedding));
  Napi::Array layers = Napi::Array::New(env, g.layers.size());
  // The decoder's inputs are ids, so its layers give no dx to JS.
  for (size_t l = 0; l < g.layers.size(); ++l) layers.Set(static_cast<uint32_t>(l), LayerGradientsToJs(env, g.layers[l], false));
  out.Set("layers", layers);
  out.Set("dOutW", NativeTensor::Wrap(env, g.d_out_w));
  out.Set("dOutB", NativeTensor::WrapOptional(env, g.d_out_b));
  return out;
}

}  // namespace

void RegisterDecodeOps(Napi::Env env, Napi::Object exports) {
  exports.Set("decodePick", Napi::Function::New(env, Safe<DecodePick>, "decodePick"));
  exports.Set("autoregressiveDecodeForward",
              Napi::Function::New(env, Safe<AutoregressiveDecodeForward>, "autoregressiveDecodeForward"));
  exports.Set("autoregressiveDecodeBackward",
              Napi::Function::New(env, Safe<AutoregressiveDecodeBackward>, "autoregressiveDecodeBackward"));
}

}  // namespace rnnlm::bindings
