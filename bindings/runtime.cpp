// Bindings for what the engine reports about itself: backend description, GEMM provider,
// thread count, CUDA availability and the live-storage counters used by leak tests.
#include <string>

#include "args.h"
#include "core/backend.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "errors.h"
#include "exports.h"
#include "tensor_wrap.h"

namespace rnnlm::bindings {

namespace {

const char* GemmProviderName(cpu::GemmProvider provider) {
  return provider == cpu::GemmProvider::Blas ? "blas" : "builtin";
}

#if defined(RNNLM_HAVE_CUDA)
constexpr bool kCudaCompiled = true;
#else
constexpr bool kCudaCompiled = false;
#endif

// info() -> {backend, blas, gemmProvider, threads, cudaCompiled}
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("backend", Napi::String::New(env, cpu_backend().describe()));
  out.Set("blas", Napi::String::New(env, cpu::blas_name()));
  out.Set("gemmProvider", Napi::String::New(env, GemmProviderName(cpu::gemm_provider())));
  out.Set("threads", Napi::Number::New(env, num_threads()));
  out.Set("cudaCompiled", Napi::Boolean::New(env, kCudaCompiled));
  return out;
}

// setGemmProvider('blas' | 'builtin'); the engine refuses 'blas' in a build without BLAS.
Napi::Value SetGemmProvider(const Napi::CallbackInfo& info) {
  const std::string name = ToString(Arg(info, 0), "provider");
  if (name == "blas") {
    cpu::set_gemm_provider(cpu::GemmProvider::Blas);
  } else if (name == "builtin") {
    cpu::set_gemm_provider(cpu::GemmProvider::Builtin);
  } else {
    ThrowArgument(info.Env(), "provider must be 'blas' or 'builtin', got '" + name + "'");
  }
  return info.Env().Undefined();
}

// deviceDescribe(device) -> the backend's description, or null when that device cannot be used
// (CUDA not compiled in, or no GPU). Initialises the device on first use.
Napi::Value DeviceDescribe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Device device = ToDevice(Arg(info, 0), "device");
  try {
    return Napi::String::New(env, backend_for(device).describe());
  } catch (const rnnlm::Error& e) {
    if (std::string(e.code()) == rnnlm::code::kDevice) return env.Null();
    throw;
  }
}

// liveStorage() -> {count, bytes} over every engine storage still alive (handles, saved tensors,
// optimizer state, caches that hold storages), and `handles`: NativeTensor objects not yet
// finalized by the garbage collector (disposed ones included).
Napi::Value LiveStorage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("count", Napi::Number::New(env, static_cast<double>(live_storage_count())));
  out.Set("bytes", Napi::Number::New(env, static_cast<double>(live_storage_bytes())));
  out.Set("handles", Napi::Number::New(env, static_cast<double>(NativeTensor::live_handles())));
  return out;
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Safe<Info>, "info"));
  exports.Set("setGemmProvider", Napi::Function::New(env, Safe<SetGemmProvider>, "setGemmProvider"));
  exports.Set("deviceDescribe", Napi::Function::New(env, Safe<DeviceDescribe>, "deviceDescribe"));
  exports.Set("liveStorage", Napi::Function::New(env, Safe<LiveStorage>, "liveStorage"));
}

}  // namespace rnnlm::bindings
