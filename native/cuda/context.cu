// Device initialisation, cuBLAS loading, error mapping and the row-major SGEMM.
//
// Initialisation runs on first use of Device::CUDA. Every way it can fail (no driver, no device,
// an unloadable cuBLAS) becomes ERR_RNNLM_DEVICE with the reason, remembered so that `auto`
// device selection can ask again cheaply and say why it fell back to the CPU.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#if !defined(RNNLM_CUDA_EMULATION)
#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif
#endif

#include "context.cuh"
#include "cuda_backend.h"
#include "kernels_common.cuh"

namespace rnnlm::cuda {

namespace {

std::string cuda_error_text(cudaError_t status) {
  return std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")";
}

#define RNNLM_STR2(x) #x
#define RNNLM_STR(x) RNNLM_STR2(x)

#if defined(RNNLM_CUDA_EMULATION)

bool load_blas(BlasApi& api, std::string& /*error*/) {
  api.create = &cublasCreate_v2;
  api.destroy = &cublasDestroy_v2;
  api.set_stream = &cublasSetStream_v2;
  api.set_math_mode = &cublasSetMathMode;
  api.get_version = &cublasGetVersion_v2;
  api.status_string = &cublasGetStatusString;
  api.sgemm = &cublasSgemm_v2;
  api.origin = "the emulator's SGEMM";
  return true;
}

#else

// Candidates in order: $RNNLM_CUBLAS_LIBRARY, the library CMake found at build time, then the
// versioned name through the system's search path (LD_LIBRARY_PATH, ld.so.cache).
std::vector<std::string> blas_candidates() {
  std::vector<std::string> names;
  if (const char* env = std::getenv("RNNLM_CUBLAS_LIBRARY"); env != nullptr && *env != '\0') names.push_back(env);
#if defined(RNNLM_CUBLAS_BUILD_LIBRARY)
  names.push_back(RNNLM_CUBLAS_BUILD_LIBRARY);
#endif
#if defined(_WIN32)
  names.push_back("cublas64_" RNNLM_STR(CUBLAS_VER_MAJOR) ".dll");
#else
  names.push_back("libcublas.so." RNNLM_STR(CUBLAS_VER_MAJOR));
  names.push_back("libcublas.so");
#endif
  return names;
}

bool load_blas(BlasApi& api, std::string& error) {
  for (const std::string& name : blas_candidates()) {
#if defined(_WIN32)
    HMODULE lib = LoadLibraryA(name.c_str());
    if (lib == nullptr) {
      error += "\n  " + name + ": not loadable";
      continue;
    }
    auto sym = [&](const char* s) { return reinterpret_cast<void*>(GetProcAddress(lib, s)); };
#else
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = dlerror();
      error += "\n  " + name + ": " + (why != nullptr ? why : "not loadable");
      continue;
    }
    auto sym = [&](const char* s) { return dlsym(lib, s); };
#endif
    api.create = reinterpret_cast<decltype(api.create)>(sym("cublasCreate_v2"));
    api.destroy = reinterpret_cast<decltype(api.destroy)>(sym("cublasDestroy_v2"));
    api.set_stream = reinterpret_cast<decltype(api.set_stream)>(sym("cublasSetStream_v2"));
    api.set_math_mode = reinterpret_cast<decltype(api.set_math_mode)>(sym("cublasSetMathMode"));
    api.get_version = reinterpret_cast<decltype(api.get_version)>(sym("cublasGetVersion_v2"));
    api.status_string = reinterpret_cast<decltype(api.status_string)>(sym("cublasGetStatusString"));
    api.sgemm = reinterpret_cast<decltype(api.sgemm)>(sym("cublasSgemm_v2"));
    if (api.create && api.destroy && api.set_stream && api.set_math_mode && api.get_version &&
        api.status_string && api.sgemm) {
      api.origin = name;
      return true;
    }
    error += "\n  " + name + ": lacks the cuBLAS v2 entry points";
  }
  return false;
}

#endif

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::string version_text(int v) {  // 13010 -> "13.1" (runtime / driver), 130101 -> "13.1.1" (cuBLAS)
  if (v >= 100000) return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// Builds the context or returns the reason it cannot be built. `requested`: the device chosen by
// select_device (-1: RNNLM_CUDA_DEVICE, else 0).
Context* create_context(std::string& reason, int requested) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (status == cudaErrorNoDevice) {
      reason = "no CUDA device was found";
    } else if (status == cudaErrorInsufficientDriver) {
      reason = "no NVIDIA driver new enough for this CUDA runtime was found (cudaGetDeviceCount: " +
               cuda_error_text(status) + ")";
    } else {
      reason = "cudaGetDeviceCount failed: " + cuda_error_text(status);
    }
    return nullptr;
  }
  if (count <= 0) {
    reason = "no CUDA device was found";
    return nullptr;
  }
  int device = 0;
  if (requested >= 0) {
    if (requested >= count) {
      reason = "device " + std::to_string(requested) + " was selected, but only " + std::to_string(count) + " are visible";
      return nullptr;
    }
    device = requested;
  } else if (const char* env = std::getenv("RNNLM_CUDA_DEVICE"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || v < 0 || v >= count) {
      reason = "RNNLM_CUDA_DEVICE=" + std::string(env) + " is not a device index in [0, " + std::to_string(count) + ")";
      return nullptr;
    }
    device = static_cast<int>(v);
  }
  auto* ctx = new Context();
  ctx->device = device;
  cudaError_t e = cudaSetDevice(device);
  cudaDeviceProp prop{};
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    cudaGetLastError();
    reason = "initialising CUDA device " + std::to_string(device) + " failed: " + cuda_error_text(e);
    delete ctx;
    return nullptr;
  }
  std::string blas_error;
  if (!load_blas(ctx->api, blas_error)) {
    reason = "cuBLAS could not be loaded (set RNNLM_CUBLAS_LIBRARY to libcublas):" + blas_error;
    cudaStreamDestroy(ctx->stream);
    delete ctx;
    return nullptr;
  }
  cublasStatus_t b = ctx->api.create(&ctx->blas);
  if (b == CUBLAS_STATUS_SUCCESS) b = ctx->api.set_stream(ctx->blas, ctx->stream);
  // Plain FP32: TF32 tensor cores would change results at the 1e-3 level, far outside the
  // agreement with the CPU backend that the parity suite checks.
  if (b == CUBLAS_STATUS_SUCCESS) b = ctx->api.set_math_mode(ctx->blas, CUBLAS_DEFAULT_MATH);
  int blas_version = 0;
  if (b == CUBLAS_STATUS_SUCCESS) b = ctx->api.get_version(ctx->blas, &blas_version);
  if (b != CUBLAS_STATUS_SUCCESS) {
    reason = std::string("cuBLAS initialisation failed: ") + ctx->api.status_string(b);
    cudaStreamDestroy(ctx->stream);
    delete ctx;
    return nullptr;
  }
  if (emulated()) {
    ctx->description = "cuda:" + std::to_string(device) + " (" + prop.name + ", " + ctx->api.origin + ")";
  } else {
    int driver = 0, runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    ctx->description = "cuda:" + std::to_string(device) + " (" + prop.name + ", sm_" +
                       std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
                       gib(prop.totalGlobalMem) + ", " + std::to_string(prop.multiProcessorCount) +
                       " SMs, cuBLAS " + version_text(blas_version) + ", driver " +
                       version_text(driver) + ", runtime " + version_text(runtime) + ")";
  }
  return ctx;
}

struct ContextSlot {
  std::mutex mutex;
  Context* context = nullptr;
  bool tried = false;
  std::string reason;
  int requested_device = -1;  // select_device
};

ContextSlot& slot() {
  static ContextSlot* s = new ContextSlot();  // never destroyed: tensors may outlive statics
  return *s;
}

// C (m, n) ld ldc: C = beta C for the k == 0 case, which cuBLAS rejects through lda = 0.
__global__ void scale_matrix_kernel(float* c, int64_t m, int64_t n, int64_t ldc, float beta) {
  RNNLM_GRID_LOOP(e, m * n) {
    const int64_t r = e / n, col = e - r * n;
    float* p = c + r * ldc + col;
    *p = beta == 0.0f ? 0.0f : beta * *p;
  }
}

}  // namespace

void check_cuda(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear it, so the next call does not report it again
  if (status == cudaErrorMemoryAllocation)
    fail(code::kOutOfMemory, std::string("cuda: ") + what + " failed: " + cuda_error_text(status));
  fail(code::kCuda, std::string("cuda: ") + what + " failed: " + cuda_error_text(status));
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const char* text = context().api.status_string(status);
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    fail(code::kOutOfMemory, std::string("cuBLAS: ") + what + " failed: " + text);
  fail(code::kCuda, std::string("cuBLAS: ") + what + " failed with status " + std::to_string(static_cast<int>(status)) + ": " + text);
}

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status == cudaSuccess) return;
  fail(code::kCuda, std::string("cuda: launching ") + kernel + " failed: " + cuda_error_text(status));
}

Context& context() {
  // Every op asks; once the context exists the answer needs no lock.
  static std::atomic<Context*> ready{nullptr};
  if (Context* c = ready.load(std::memory_order_acquire)) return *c;
  ContextSlot& s = slot();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.context != nullptr) return *s.context;
  if (!s.tried) {
    s.tried = true;
    s.context = create_context(s.reason, s.requested_device);
    if (s.context != nullptr) {
      ready.store(s.context, std::memory_order_release);
      return *s.context;
    }
  }
  fail(code::kDevice, "CUDA is not usable: " + s.reason);
}

void select_device(int device) {
  ContextSlot& s = slot();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.context != nullptr && s.context->device != device) {
    fail(code::kDevice, "the CUDA backend already runs on device " + std::to_string(s.context->device) +
                            " and cannot move to device " + std::to_string(device) +
                            " (start the distributed communicator before the first use of device 'cuda')");
  }
  s.requested_device = device;
}

std::string unavailable_reason() {
  try {
    context();
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

bool emulated() {
#if defined(RNNLM_CUDA_EMULATION)
  return true;
#else
  return false;
#endif
}

// Row-major C = A B is column-major C^T = B^T A^T: swap the operands and their roles.
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
           int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  Context& ctx = context();
  if (k <= 0) {
    RNNLM_LAUNCH(scale_matrix_kernel, blocks_for(m * n), kThreads, ctx.stream, c, m, n, ldc, beta);
    return;
  }
  constexpr int64_t kMax = 2147483647;
  RNNLM_CHECK(m <= kMax && n <= kMax && k <= kMax && lda <= kMax && ldb <= kMax && ldc <= kMax,
              code::kShape, "cuda: GEMM dimensions exceed 32-bit cuBLAS limits");
  check_cublas(ctx.api.sgemm(ctx.blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                             static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b,
                             static_cast<int>(ldb), a, static_cast<int>(lda), &beta, c,
                             static_cast<int>(ldc)),
               "cublasSgemm");
}

}  // namespace rnnlm::cuda
