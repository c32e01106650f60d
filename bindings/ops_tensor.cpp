// Bindings for tensor creation, data movement, element-wise ops and random fills (ops.h).
#include <string>

#include "args.h"
#include "core/ops.h"
#include "errors.h"
#include "exports.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

Napi::Value Empty(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::empty(ToShape(Arg(info, 0), "shape"),
                                                   ToDType(Arg(info, 1), "dtype"),
                                                   ToDevice(Arg(info, 2), "device")));
}

Napi::Value Zeros(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::zeros(ToShape(Arg(info, 0), "shape"),
                                                   ToDType(Arg(info, 1), "dtype"),
                                                   ToDevice(Arg(info, 2), "device")));
}

// fromTypedArray(data: Float32Array | Int32Array, shape, device): the dtype follows the array.
Napi::Value FromTypedArray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value data = Arg(info, 0);
  if (!data.IsTypedArray()) ThrowArgument(env, "data must be a Float32Array or an Int32Array");
  Napi::TypedArray typed = data.As<Napi::TypedArray>();
  DType dtype = DType::F32;
  if (typed.TypedArrayType() == napi_float32_array) {
    dtype = DType::F32;
  } else if (typed.TypedArrayType() == napi_int32_array) {
    dtype = DType::I32;
  } else {
    ThrowArgument(env, "data must be a Float32Array or an Int32Array");
  }
  const Shape shape = ToShape(Arg(info, 1), "shape");
  const Device device = ToDevice(Arg(info, 2), "device");
  const int64_t numel = shape_numel(shape);
  if (numel != static_cast<int64_t>(typed.ElementLength())) {
    ThrowCoded(env, rnnlm::code::kShape,
               "data has " + std::to_string(typed.ElementLength()) + " elements but shape " +
                   shape_str(shape) + " needs " + std::to_string(numel));
  }
  // The typed array's own data pointer already includes its byte offset.
  const void* base = dtype == DType::F32 ? static_cast<const void*>(data.As<Napi::Float32Array>().Data())
                                         : static_cast<const void*>(data.As<Napi::Int32Array>().Data());
  return NativeTensor::Wrap(env, ops::from_host(base, shape, dtype, device));
}

Napi::Value ToDeviceOp(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::to_device(ToTensor(Arg(info, 0), "x"),
                                                       ToDevice(Arg(info, 1), "device")));
}

Napi::Value Clone(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::clone(ToTensor(Arg(info, 0), "x")));
}

Napi::Value Fill(const Napi::CallbackInfo& info) {
  ops::fill_(ToTensor(Arg(info, 0), "x"), ToFloat(Arg(info, 1), "value"));
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) {
  ops::add_(ToTensor(Arg(info, 0), "dst"), ToTensor(Arg(info, 1), "src"),
            ToFloat(Arg(info, 2), "alpha"));
  return info.Env().Undefined();
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  ops::scale_(ToTensor(Arg(info, 0), "x"), ToFloat(Arg(info, 1), "alpha"));
  return info.Env().Undefined();
}

Napi::Value Mul(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(),
                            ops::mul(ToTensor(Arg(info, 0), "a"), ToTensor(Arg(info, 1), "b")));
}

Napi::Value Exp(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::exp(ToTensor(Arg(info, 0), "x")));
}

Napi::Value SumAll(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::sum_all(ToTensor(Arg(info, 0), "x")));
}

Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::gather_rows(ToTensor(Arg(info, 0), "x"),
                                                         ToTensor(Arg(info, 1), "idx")));
}

Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  ops::scatter_add_rows_(ToTensor(Arg(info, 0), "dst"), ToTensor(Arg(info, 1), "idx"),
                         ToTensor(Arg(info, 2), "src"));
  return info.Env().Undefined();
}

Napi::Value ConcatCols(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::concat_cols(ToTensorList(Arg(info, 0), "parts")));
}

Napi::Value SliceCols(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::slice_cols(ToTensor(Arg(info, 0), "x"),
                                                        ToInt64(Arg(info, 1), "start"),
                                                        ToInt64(Arg(info, 2), "width")));
}

Napi::Value ConcatRows(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::concat_rows(ToTensorList(Arg(info, 0), "parts")));
}

Napi::Value SliceRows(const Napi::CallbackInfo& info) {
  return NativeTensor::Wrap(info.Env(), ops::slice_rows(ToTensor(Arg(info, 0), "x"),
                                                        ToInt64(Arg(info, 1), "start"),
                                                        ToInt64(Arg(info, 2), "count")));
}

Napi::Value Uniform(const Napi::CallbackInfo& info) {
  ops::uniform_(ToTensor(Arg(info, 0), "x"), ToFloat(Arg(info, 1), "low"),
                ToFloat(Arg(info, 2), "high"), ToUint64(Arg(info, 3), "seed"),
                ToUint64(Arg(info, 4), "offset"));
  return info.Env().Undefined();
}

Napi::Value Normal(const Napi::CallbackInfo& info) {
  ops::normal_(ToTensor(Arg(info, 0), "x"), ToFloat(Arg(info, 1), "mean"),
               ToFloat(Arg(info, 2), "std"), ToUint64(Arg(info, 3), "seed"),
               ToUint64(Arg(info, 4), "offset"));
  return info.Env().Undefined();
}

}  // namespace

void RegisterTensorOps(Napi::Env env, Napi::Object exports) {
  exports.Set("empty", Napi::Function::New(env, Safe<Empty>, "empty"));
  exports.Set("zeros", Napi::Function::New(env, Safe<Zeros>, "zeros"));
  exports.Set("fromTypedArray", Napi::Function::New(env, Safe<FromTypedArray>, "fromTypedArray"));
  exports.Set("toDevice", Napi::Function::New(env, Safe<ToDeviceOp>, "toDevice"));
  exports.Set("clone", Napi::Function::New(env, Safe<Clone>, "clone"));
  exports.Set("fill_", Napi::Function::New(env, Safe<Fill>, "fill_"));
  exports.Set("add_", Napi::Function::New(env, Safe<Add>, "add_"));
  exports.Set("scale_", Napi::Function::New(env, Safe<Scale>, "scale_"));
  exports.Set("mul", Napi::Function::New(env, Safe<Mul>, "mul"));
  exports.Set("exp", Napi::Function::New(env, Safe<Exp>, "exp"));
  exports.Set("sumAll", Napi::Function::New(env, Safe<SumAll>, "sumAll"));
  exports.Set("gatherRows", Napi::Function::New(env, Safe<GatherRows>, "gatherRows"));
  exports.Set("scatterAddRows_", Napi::Function::New(env, Safe<ScatterAddRows>, "scatterAddRows_"));
  exports.Set("concatCols", Napi::Function::New(env, Safe<ConcatCols>, "concatCols"));
  exports.Set("sliceCols", Napi::Function::New(env, Safe<SliceCols>, "sliceCols"));
  exports.Set("concatRows", Napi::Function::New(env, Safe<ConcatRows>, "concatRows"));
  exports.Set("sliceRows", Napi::Function::New(env, Safe<SliceRows>, "sliceRows"));
  exports.Set("uniform_", Napi::Function::New(env, Safe<Uniform>, "uniform_"));
  exports.Set("normal_", Napi::Function::New(env, Safe<Normal>, "normal_"));
}

}  // namespace rnnlm::bindings
