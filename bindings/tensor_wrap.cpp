// NativeTensor (see tensor_wrap.h).
#include "tensor_wrap.h"

#include <atomic>
#include <string>
#include <utility>

#include "args.h"
#include "core/ops.h"
#include "errors.h"

namespace rnnlm::bindings {

namespace {

// The native part of a live handle.
struct Handle {
  Tensor tensor;
  // Bytes reported to V8 as external memory, so that handles a program forgot to dispose still
  // push the garbage collector (and thus the finalizer backstop) along.
  int64_t reported_bytes = 0;
};

// Shared by the main thread and worker threads (each loads the addon into its own environment).
std::atomic<int64_t> g_live_handles{0};

// Marks objects made by the NativeTensor constructor.
constexpr napi_type_tag kNativeTensorTag = {0x6f1c2a7e5d3b4c19ULL, 0x8a2e91f0b7d64c35ULL};

void DestroyHandle(napi_env env, Handle* handle) {
  if (handle->reported_bytes != 0) {
    // The raw call reports failure by status instead of throwing: this also runs in finalizers.
    int64_t total = 0;
    napi_adjust_external_memory(env, -handle->reported_bytes, &total);
  }
  delete handle;  // the storage is freed here if this was its last reference
  --g_live_handles;
}

// napi_wrap finalizer: the garbage collector took a handle nobody disposed.
void FinalizeHandle(napi_env env, void* data, void* /*hint*/) {
  DestroyHandle(env, static_cast<Handle*>(data));
}

Napi::FunctionReference& Constructor(Napi::Env env) {
  return *env.GetInstanceData<Napi::FunctionReference>();
}

bool HasTag(napi_env env, napi_value object) {
  bool tagged = false;
  return napi_check_object_type_tag(env, object, &kNativeTensorTag, &tagged) == napi_ok && tagged;
}

// The live native part of `this`, throwing ERR_RNNLM_DISPOSED (or a TypeError when `this` is
// not a handle at all, e.g. a method called on another object).
Handle& Self(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value self = info.This();
  if (!info.This().IsObject() || !HasTag(env, self)) {
    ThrowArgument(env, "NativeTensor method called on an object that is not a NativeTensor");
  }
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) {
    ThrowCoded(env, kDisposedCode, "tensor used after dispose()");
  }
  return *static_cast<Handle*>(data);
}

// Adapts a Napi-style body to a raw napi_callback, running it under Guard.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
napi_value Raw(napi_env env, napi_callback_info cbinfo) {
  Napi::CallbackInfo info(env, cbinfo);
  return Guard(info.Env(), [&]() { return Fn(info); });
}

// new NativeTensor(External<Tensor>): only Wrap() can call it, since JS code cannot forge an
// External; `new NativeTensor()` from JS fails instead of making an empty handle.
Napi::Value Construct(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsExternal() || !info.IsConstructCall()) {
    ThrowArgument(env, "NativeTensor cannot be constructed directly; use the tensor factories");
  }
  napi_value self = info.This();
  auto* handle = new Handle{std::move(*info[0].As<Napi::External<Tensor>>().Data()), 0};
  ++g_live_handles;
  if (napi_wrap(env, self, handle, FinalizeHandle, nullptr, nullptr) != napi_ok) {
    DestroyHandle(env, handle);
    ThrowCoded(env, rnnlm::code::kInternal, "NativeTensor: napi_wrap failed");
  }
  napi_type_tag_object(env, self, &kNativeTensorTag);
  handle->reported_bytes = static_cast<int64_t>(handle->tensor.bytes());
  int64_t total = 0;
  napi_adjust_external_memory(env, handle->reported_bytes, &total);
  return env.Undefined();
}

Napi::Value ShapeGetter(const Napi::CallbackInfo& info) {
  const Shape& shape = Self(info).tensor.shape();
  Napi::Array out = Napi::Array::New(info.Env(), shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(shape[i])));
  }
  return out;
}

Napi::Value DTypeGetter(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DTypeJsName(Self(info).tensor.dtype()));
}

Napi::Value DeviceGetter(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), DeviceJsName(Self(info).tensor.device()));
}

Napi::Value NumelGetter(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Self(info).tensor.numel()));
}

Napi::Value ByteLengthGetter(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Self(info).tensor.bytes()));
}

Napi::Value DisposedGetter(const Napi::CallbackInfo& info) {
  Tensor unused;
  const NativeTensor::Lookup found = NativeTensor::Find(info.This(), &unused);
  if (found == NativeTensor::Lookup::kNotATensor) {
    ThrowArgument(info.Env(), "NativeTensor getter called on an object that is not a NativeTensor");
  }
  return Napi::Boolean::New(info.Env(), found == NativeTensor::Lookup::kDisposed);
}

// toArrayBuffer(target?): a new ArrayBuffer, or a copy into `target` (returned).
Napi::Value ToArrayBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Tensor t = Self(info).tensor;
  Napi::Value target = Arg(info, 0);
  if (IsAbsent(target)) {
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, t.bytes());
    if (t.bytes() > 0) ops::to_host(t, buffer.Data());
    return buffer;
  }
  if (!target.IsTypedArray()) ThrowArgument(env, "toArrayBuffer: target must be a typed array");
  const napi_typedarray_type wanted = t.dtype() == DType::F32 ? napi_float32_array : napi_int32_array;
  Napi::TypedArray typed = target.As<Napi::TypedArray>();
  if (typed.TypedArrayType() != wanted) {
    ThrowArgument(env, std::string("toArrayBuffer: target must be a ") +
                           (t.dtype() == DType::F32 ? "Float32Array" : "Int32Array") + " for a " +
                           DTypeJsName(t.dtype()) + " tensor");
  }
  if (typed.ElementLength() != static_cast<size_t>(t.numel())) {
    ThrowCoded(env, rnnlm::code::kShape,
               "toArrayBuffer: target has " + std::to_string(typed.ElementLength()) +
                   " elements but the tensor of shape " + shape_str(t.shape()) + " has " +
                   std::to_string(t.numel()));
  }
  if (t.bytes() > 0) {
    // The typed array's own data pointer already includes its byte offset.
    void* base = t.dtype() == DType::F32 ? static_cast<void*>(target.As<Napi::Float32Array>().Data())
                                          : static_cast<void*>(target.As<Napi::Int32Array>().Data());
    ops::to_host(t, base);
  }
  return target;
}

// reshape(shape): a new handle on the same storage.
Napi::Value Reshape(const Napi::CallbackInfo& info) {
  const Tensor t = Self(info).tensor;
  return NativeTensor::Wrap(info.Env(), t.reshape(ToShape(Arg(info, 0), "shape")));
}

// dispose(): frees the native part now (idempotent).
Napi::Value Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  napi_value self = info.This();
  if (!info.This().IsObject() || !HasTag(env, self)) {
    ThrowArgument(env, "dispose called on an object that is not a NativeTensor");
  }
  void* data = nullptr;
  if (napi_remove_wrap(env, self, &data) == napi_ok && data != nullptr) {
    DestroyHandle(env, static_cast<Handle*>(data));
  }
  return env.Undefined();
}

}  // namespace

void NativeTensor::Init(Napi::Env env, Napi::Object exports) {
  const napi_property_attributes getter = napi_default;
  const napi_property_attributes method = napi_default;
  const napi_property_descriptor properties[] = {
      {"shape", nullptr, nullptr, Raw<ShapeGetter>, nullptr, nullptr, getter, nullptr},
      {"dtype", nullptr, nullptr, Raw<DTypeGetter>, nullptr, nullptr, getter, nullptr},
      {"device", nullptr, nullptr, Raw<DeviceGetter>, nullptr, nullptr, getter, nullptr},
      {"numel", nullptr, nullptr, Raw<NumelGetter>, nullptr, nullptr, getter, nullptr},
      {"byteLength", nullptr, nullptr, Raw<ByteLengthGetter>, nullptr, nullptr, getter, nullptr},
      {"disposed", nullptr, nullptr, Raw<DisposedGetter>, nullptr, nullptr, getter, nullptr},
      {"toArrayBuffer", nullptr, Raw<ToArrayBuffer>, nullptr, nullptr, nullptr, method, nullptr},
      {"reshape", nullptr, Raw<Reshape>, nullptr, nullptr, nullptr, method, nullptr},
      {"dispose", nullptr, Raw<Dispose>, nullptr, nullptr, nullptr, method, nullptr},
  };
  napi_value ctor = nullptr;
  const napi_status status =
      napi_define_class(env, "NativeTensor", NAPI_AUTO_LENGTH, Raw<Construct>, nullptr,
                        sizeof(properties) / sizeof(properties[0]), properties, &ctor);
  NAPI_THROW_IF_FAILED_VOID(env, status);
  Napi::Function fn(env, ctor);
  // The reference lives as long as the environment (node-addon-api deletes instance data then).
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(fn)));
  exports.Set("NativeTensor", fn);
}

Napi::Object NativeTensor::Wrap(Napi::Env env, Tensor tensor) {
  if (!tensor.defined()) {
    ThrowCoded(env, rnnlm::code::kInternal, "the engine returned an undefined tensor");
  }
  Napi::External<Tensor> token = Napi::External<Tensor>::New(env, &tensor);
  return Constructor(env).New({token});
}

Napi::Value NativeTensor::WrapOptional(Napi::Env env, Tensor tensor) {
  if (!tensor.defined()) return env.Null();
  return Wrap(env, std::move(tensor));
}

NativeTensor::Lookup NativeTensor::Find(const Napi::Value& value, Tensor* out) {
  if (!value.IsObject() || !HasTag(value.Env(), value)) return Lookup::kNotATensor;
  void* data = nullptr;
  if (napi_unwrap(value.Env(), value, &data) != napi_ok || data == nullptr) return Lookup::kDisposed;
  *out = static_cast<Handle*>(data)->tensor;
  return Lookup::kLive;
}

int64_t NativeTensor::live_handles() { return g_live_handles; }

}  // namespace rnnlm::bindings
