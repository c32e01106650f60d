// JS argument conversions (see args.h).
#include "args.h"

#include <cmath>

#include "errors.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

// Largest integer a double holds exactly (Number.MAX_SAFE_INTEGER).
constexpr double kMaxSafeInteger = 9007199254740991.0;

std::string Named(const char* name, const char* expectation) {
  return std::string(name) + " must be " + expectation;
}

}  // namespace

Napi::Value Arg(const Napi::CallbackInfo& info, size_t i) {
  return i < info.Length() ? info[i] : info.Env().Undefined();
}

bool IsAbsent(const Napi::Value& value) { return value.IsUndefined() || value.IsNull(); }

double ToNumber(const Napi::Value& value, const char* name) {
  if (!value.IsNumber()) ThrowArgument(value.Env(), Named(name, "a number"));
  return value.As<Napi::Number>().DoubleValue();
}

float ToFloat(const Napi::Value& value, const char* name) {
  return static_cast<float>(ToNumber(value, name));
}

int64_t ToInt64(const Napi::Value& value, const char* name) {
  const double x = ToNumber(value, name);
  if (!std::isfinite(x) || std::trunc(x) != x || std::fabs(x) > kMaxSafeInteger) {
    ThrowArgument(value.Env(), Named(name, "an integer"));
  }
  return static_cast<int64_t>(x);
}

int32_t ToInt32(const Napi::Value& value, const char* name) {
  const int64_t x = ToInt64(value, name);
  if (x < INT32_MIN || x > INT32_MAX) ThrowArgument(value.Env(), Named(name, "a 32-bit integer"));
  return static_cast<int32_t>(x);
}

uint64_t ToUint64(const Napi::Value& value, const char* name) {
  if (value.IsBigInt()) {
    bool lossless = false;
    const uint64_t x = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) ThrowArgument(value.Env(), Named(name, "a BigInt in [0, 2^64)"));
    return x;
  }
  const int64_t x = ToInt64(value, name);
  if (x < 0) ThrowArgument(value.Env(), Named(name, "a non-negative integer"));
  return static_cast<uint64_t>(x);
}

bool ToBool(const Napi::Value& value, const char* name) {
  if (!value.IsBoolean()) ThrowArgument(value.Env(), Named(name, "a boolean"));
  return value.As<Napi::Boolean>().Value();
}

std::string ToString(const Napi::Value& value, const char* name) {
  if (!value.IsString()) ThrowArgument(value.Env(), Named(name, "a string"));
  return value.As<Napi::String>().Utf8Value();
}

Shape ToShape(const Napi::Value& value, const char* name) {
  if (!value.IsArray()) ThrowArgument(value.Env(), Named(name, "an array of integers"));
  Napi::Array array = value.As<Napi::Array>();
  Shape shape(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) shape[i] = ToInt64(array.Get(i), name);
  return shape;
}

DType ToDType(const Napi::Value& value, const char* name) {
  const std::string s = ToString(value, name);
  if (s == "float32") return DType::F32;
  if (s == "int32") return DType::I32;
  ThrowArgument(value.Env(), Named(name, "'float32' or 'int32', got '") + s + "'");
}

Device ToDevice(const Napi::Value& value, const char* name) {
  const std::string s = ToString(value, name);
  if (s == "cpu") return Device::CPU;
  if (s == "cuda") return Device::CUDA;
  ThrowArgument(value.Env(), Named(name, "'cpu' or 'cuda', got '") + s + "'");
}

const char* DTypeJsName(DType dtype) { return dtype == DType::F32 ? "float32" : "int32"; }
const char* DeviceJsName(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

Tensor ToTensor(const Napi::Value& value, const char* name) {
  Tensor tensor;
  switch (NativeTensor::Find(value, &tensor)) {
    case NativeTensor::Lookup::kNotATensor:
      ThrowArgument(value.Env(), Named(name, "a NativeTensor"));
    case NativeTensor::Lookup::kDisposed:
      ThrowCoded(value.Env(), kDisposedCode, std::string(name) + ": tensor used after dispose()");
    case NativeTensor::Lookup::kLive:
      break;
  }
  return tensor;
}

Tensor ToOptionalTensor(const Napi::Value& value, const char* name) {
  if (IsAbsent(value)) return Tensor();
  return ToTensor(value, name);
}

std::vector<Tensor> ToTensorList(const Napi::Value& value, const char* name) {
  if (!value.IsArray()) ThrowArgument(value.Env(), Named(name, "an array of NativeTensors"));
  Napi::Array array = value.As<Napi::Array>();
  std::vector<Tensor> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) out.push_back(ToTensor(array.Get(i), name));
  return out;
}

std::vector<int32_t> ToInt32Vector(const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray() ||
      value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowArgument(value.Env(), Named(name, "an Int32Array"));
  }
  Napi::Int32Array array = value.As<Napi::Int32Array>();
  return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
}

Napi::Object ToObject(const Napi::Value& value, const char* name) {
  if (!value.IsObject() || value.IsArray()) ThrowArgument(value.Env(), Named(name, "an object"));
  return value.As<Napi::Object>();
}

double GetNumberOr(const Napi::Object& object, const char* key, double fallback) {
  Napi::Value v = object.Get(key);
  return v.IsUndefined() ? fallback : ToNumber(v, key);
}

int64_t GetInt64Or(const Napi::Object& object, const char* key, int64_t fallback) {
  Napi::Value v = object.Get(key);
  return v.IsUndefined() ? fallback : ToInt64(v, key);
}

bool GetBoolOr(const Napi::Object& object, const char* key, bool fallback) {
  Napi::Value v = object.Get(key);
  return v.IsUndefined() ? fallback : ToBool(v, key);
}

LayerSpec ToLayerSpec(const Napi::Value& value, const char* name) {
  Napi::Object object = ToObject(value, name);
  LayerSpec spec;
  spec.cell = parse_cell_kind(ToString(object.Get("cell"), "spec.cell"));
  spec.reverse = GetBoolOr(object, "reverse", false);
  spec.fused = GetBoolOr(object, "fused", true);
  spec.batch_sizes = ToInt32Vector(object.Get("batchSizes"), "spec.batchSizes");
  return spec;
}

LayerWeights ToLayerWeights(const Napi::Value& value, const char* name) {
  Napi::Object object = ToObject(value, name);
  LayerWeights weights;
  weights.w_ih = ToTensor(object.Get("wIh"), "weights.wIh");
  weights.w_hh = ToTensor(object.Get("wHh"), "weights.wHh");
  weights.b_ih = ToOptionalTensor(object.Get("bIh"), "weights.bIh");
  weights.b_hh = ToOptionalTensor(object.Get("bHh"), "weights.bHh");
  return weights;
}

}  // namespace rnnlm::bindings
