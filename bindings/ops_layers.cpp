// Bindings for the layer ops (ops.h): embedding, linear, dropout, the recurrent layer scan,
// softmax-NLL and the Gaussian KL term. Multi-output ops return plain objects of NativeTensors;
// absent outputs are null.
#include <string>

#include "args.h"
#include "core/ops.h"
#include "errors.h"
#include "exports.h"
#include "layer_results.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::embedding_forward(ToTensor(Arg(info, 0), "weight"),
                                                               ToTensor(Arg(info, 1), "ids")));
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::embedding_backward(ToTensor(Arg(info, 0), "dy"),
                                                                ToTensor(Arg(info, 1), "ids"),
                                                                ToInt64(Arg(info, 2), "vocab")));
}

Napi::Value LinearForward(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::linear_forward(ToTensor(Arg(info, 0), "x"),
                                                            ToTensor(Arg(info, 1), "w"),
                                                            ToOptionalTensor(Arg(info, 2), "b")));
}

// linearBackward(dy, x, w, hasBias, needDx) -> {dx | null, dw, db | null}
Napi::Value LinearBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor dx, dw, db;
  ops::linear_backward(ToTensor(Arg(info, 0), "dy"), ToTensor(Arg(info, 1), "x"),
                       ToTensor(Arg(info, 2), "w"), ToBool(Arg(info, 3), "hasBias"),
                       ToBool(Arg(info, 4), "needDx"), dx, dw, db);
  Napi::Object out = Napi::Object::New(env);
  out.Set("dx", NativeTensor::WrapOptional(env, dx));
  out.Set("dw", NativeTensor::Wrap(env, dw));
  out.Set("db", NativeTensor::WrapOptional(env, db));
  return out;
}

// dropoutForward(x, p, seed, offset) -> {y, mask}
Napi::Value DropoutForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor y, mask;
  ops::dropout_forward(ToTensor(Arg(info, 0), "x"), ToFloat(Arg(info, 1), "p"),
                       ToUint64(Arg(info, 2), "seed"), ToUint64(Arg(info, 3), "offset"), y, mask);
  Napi::Object out = Napi::Object::New(env);
  out.Set("y", NativeTensor::Wrap(env, y));
  out.Set("mask", NativeTensor::Wrap(env, mask));
  return out;
}

// rnnLayerForward(spec, x, weights, h0?, c0?) -> {y, hN, cN | null, workspace}
Napi::Value RnnLayerForward(const Napi::CallbackInfo& info) {
  const LayerSpec spec = ToLayerSpec(Arg(info, 0), "spec");
  const Tensor x = ToTensor(Arg(info, 1), "x");
  const LayerWeights weights = ToLayerWeights(Arg(info, 2), "weights");
  const Tensor h0 = ToOptionalTensor(Arg(info, 3), "h0");
  const Tensor c0 = ToOptionalTensor(Arg(info, 4), "c0");
  return LayerForwardToJs(info.Env(), ops::rnn_layer_forward(spec, x, weights, h0, c0));
}

// rnnLayerBackward(spec, x, weights, h0?, c0?, forward, dy, dhN?, dcN?)
//   -> {dx, dh0, dc0 | null, dwIh, dwHh, dbIh | null, dbHh | null}
Napi::Value RnnLayerBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LayerSpec spec = ToLayerSpec(Arg(info, 0), "spec");
  const Tensor x = ToTensor(Arg(info, 1), "x");
  const LayerWeights weights = ToLayerWeights(Arg(info, 2), "weights");
  const Tensor h0 = ToOptionalTensor(Arg(info, 3), "h0");
  const Tensor c0 = ToOptionalTensor(Arg(info, 4), "c0");
  const LayerForward forward = LayerForwardFromJs(Arg(info, 5), "forward");
  const Tensor dy = ToTensor(Arg(info, 6), "dy");
  const Tensor dh_n = ToOptionalTensor(Arg(info, 7), "dhN");
  const Tensor dc_n = ToOptionalTensor(Arg(info, 8), "dcN");
  const LayerGradients g = ops::rnn_layer_backward(spec, x, weights, h0, c0, forward, dy, dh_n, dc_n);
  return LayerGradientsToJs(env, g, true);
}

Reduction ToReduction(const Napi::Value& value) {
  const std::string s = ToString(value, "reduction");
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  ThrowArgument(value.Env(), "reduction must be 'mean' or 'sum', got '" + s + "'");
}

// softmaxNll(logits, targets, ignoreIndex, reduction) -> {loss, count, dlogits}
Napi::Value SoftmaxNll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SoftmaxNllResult r = ops::softmax_nll(ToTensor(Arg(info, 0), "logits"),
                                        ToTensor(Arg(info, 1), "targets"),
                                        ToInt32(Arg(info, 2), "ignoreIndex"),
                                        ToReduction(Arg(info, 3)));
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", NativeTensor::Wrap(env, r.loss));
  out.Set("count", NativeTensor::Wrap(env, r.count));
  out.Set("dlogits", NativeTensor::Wrap(env, r.dlogits));
  return out;
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::log_softmax(ToTensor(Arg(info, 0), "logits")));
}

Napi::Value GaussianKl(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::gaussian_kl(ToTensor(Arg(info, 0), "mean"),
                                                         ToTensor(Arg(info, 1), "logv")));
}

// gaussianKlBackward(mean, logv, dkl) -> {dmean, dlogv}
Napi::Value GaussianKlBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor dmean, dlogv;
  ops::gaussian_kl_backward(ToTensor(Arg(info, 0), "mean"), ToTensor(Arg(info, 1), "logv"),
                            ToTensor(Arg(info, 2), "dkl"), dmean, dlogv);
  Napi::Object out = Napi::Object::New(env);
  out.Set("dmean", NativeTensor::Wrap(env, dmean));
  out.Set("dlogv", NativeTensor::Wrap(env, dlogv));
  return out;
}

}  // namespace

void RegisterLayerOps(Napi::Env env, Napi::Object exports) {
  exports.Set("embeddingForward", Napi::Function::New(env, Safe<EmbeddingForward>, "embeddingForward"));
  exports.Set("embeddingBackward", Napi::Function::New(env, Safe<EmbeddingBackward>, "embeddingBackward"));
  exports.Set("linearForward", Napi::Function::New(env, Safe<LinearForward>, "linearForward"));
  exports.Set("linearBackward", Napi::Function::New(env, Safe<LinearBackward>, "linearBackward"));
  exports.Set("dropoutForward", Napi::Function::New(env, Safe<DropoutForward>, "dropoutForward"));
  exports.Set("rnnLayerForward", Napi::Function::New(env, Safe<RnnLayerForward>, "rnnLayerForward"));
  exports.Set("rnnLayerBackward", Napi::Function::New(env, Safe<RnnLayerBackward>, "rnnLayerBackward"));
  exports.Set("softmaxNll", Napi::Function::New(env, Safe<SoftmaxNll>, "softmaxNll"));
  exports.Set("logSoftmax", Napi::Function::New(env, Safe<LogSoftmax>, "logSoftmax"));
  exports.Set("gaussianKl", Napi::Function::New(env, Safe<GaussianKl>, "gaussianKl"));
  exports.Set("gaussianKlBackward", Napi::Function::New(env, Safe<GaussianKlBackward>, "gaussianKlBackward"));
}

}  // namespace rnnlm::bindings
