// Bindings for what the engine reports about itself: backend description, GEMM provider,
// thread count, CUDA availability and the live-storage counters used by leak tests.
#include <string>

#include "args.h"
#include "core/backend.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "errors.h"
#include "exports.h"
#include "tensor_wrap.h"

#if defined(RNNLM_HAVE_CUDA)
#include "cuda/cuda_backend.h"
#endif

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

// Why device 'cuda' cannot be used here, or null when it can. Asking initialises the device.
Napi::Value CudaReason(Napi::Env env) {
#if defined(RNNLM_HAVE_CUDA)
  const std::string reason = cuda::unavailable_reason();
  if (reason.empty()) return env.Null();
  return Napi::String::New(env, reason);
#else
  return Napi::String::New(env, "this build of rnnlm has no CUDA backend");
#endif
}

// info() -> {backend, blas, blasLibrary, blasReason, gemmProvider, threads, portable, cpuKernels,
//            cpuKernelsReason, cpuFlags, cudaCompiled, cudaEmulated, cudaReason}
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("backend", Napi::String::New(env, cpu_backend().describe()));
  out.Set("blas", Napi::String::New(env, cpu::blas_name()));
  out.Set("blasLibrary", Napi::String::New(env, cpu::blas_library()));
  out.Set("blasReason", Napi::String::New(env, cpu::blas_reason()));
  out.Set("gemmProvider", Napi::String::New(env, GemmProviderName(cpu::gemm_provider())));
  out.Set("threads", Napi::Number::New(env, num_threads()));
  const cpu::IsaChoice& isa = cpu::isa_choice();
  out.Set("portable", Napi::Boolean::New(env, isa.portable));
  out.Set("cpuKernels", Napi::String::New(env, isa.variant));
  out.Set("cpuKernelsReason", Napi::String::New(env, isa.reason));
  out.Set("cpuFlags", Napi::String::New(env, isa.flags));
  out.Set("cudaCompiled", Napi::Boolean::New(env, kCudaCompiled));
#if defined(RNNLM_HAVE_CUDA)
  out.Set("cudaEmulated", Napi::Boolean::New(env, cuda::emulated()));
#else
  out.Set("cudaEmulated", Napi::Boolean::New(env, false));
#endif
  out.Set("cudaReason", CudaReason(env));
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

// cudaMemory() -> the CUDA caching allocator's counters, or null in a build without CUDA.
Napi::Value CudaMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#if defined(RNNLM_HAVE_CUDA)
  const cuda::MemoryStats s = cuda::memory_stats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("deviceAllocations", Napi::Number::New(env, static_cast<double>(s.device_allocations)));
  out.Set("deviceFrees", Napi::Number::New(env, static_cast<double>(s.device_frees)));
  out.Set("cacheHits", Napi::Number::New(env, static_cast<double>(s.cache_hits)));
  out.Set("reservedBytes", Napi::Number::New(env, static_cast<double>(s.reserved_bytes)));
  out.Set("inUseBytes", Napi::Number::New(env, static_cast<double>(s.in_use_bytes)));
  out.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cached_bytes)));
  return out;
#else
  return env.Null();
#endif
}

// cudaEmptyCache(): gives the allocator's free blocks back to the device (no-op without CUDA).
Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
#if defined(RNNLM_HAVE_CUDA)
  cuda::empty_cache();
#endif
  return info.Env().Undefined();
}

}  // namespace

void RegisterRuntime(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Safe<Info>, "info"));
  exports.Set("setGemmProvider", Napi::Function::New(env, Safe<SetGemmProvider>, "setGemmProvider"));
  exports.Set("deviceDescribe", Napi::Function::New(env, Safe<DeviceDescribe>, "deviceDescribe"));
  exports.Set("liveStorage", Napi::Function::New(env, Safe<LiveStorage>, "liveStorage"));
  exports.Set("cudaMemory", Napi::Function::New(env, Safe<CudaMemory>, "cudaMemory"));
  exports.Set("cudaEmptyCache", Napi::Function::New(env, Safe<CudaEmptyCache>, "cudaEmptyCache"));
}

}  // namespace rnnlm::bindings
