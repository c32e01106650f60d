// CUDA tensors through NCCL (see nccl_path.h). libnccl is loaded at run time like cuBLAS, so the
// addon loads where NCCL is not installed; in the emulator build the single-rank stand-in
// (nccl_emu.h) serves the same calls. Everything is enqueued on the CUDA backend's stream: each
// bucket is packed with device-to-device copies, reduced in place by ncclAllReduce, and unpacked
// (scaled) by a kernel; the host then waits for the stream under the collective's deadline.
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "buckets.h"
#include "core/error.h"
#include "cuda/context.cuh"
#include "cuda/cuda_backend.h"
#include "nccl_path.h"

#if defined(RNNLM_CUDA_EMULATION)
#include "nccl_emu.h"
#else
#include <dlfcn.h>
#include <nccl.h>
#endif

namespace rnnlm::dist::nccl {

namespace {

struct Api {
  decltype(&ncclGetVersion) get_version = nullptr;
  decltype(&ncclGetUniqueId) get_unique_id = nullptr;
  decltype(&ncclCommInitRank) comm_init_rank = nullptr;
  decltype(&ncclCommDestroy) comm_destroy = nullptr;
  decltype(&ncclCommGetAsyncError) comm_get_async_error = nullptr;
  decltype(&ncclGetErrorString) error_string = nullptr;
  decltype(&ncclAllReduce) all_reduce = nullptr;
  decltype(&ncclBroadcast) broadcast = nullptr;
};

struct Loaded {
  Api api;
  LibraryInfo info;
};

#if defined(RNNLM_CUDA_EMULATION)

Loaded load() {
  Loaded out;
  out.api = {&ncclGetVersion, &ncclGetUniqueId, &ncclCommInitRank, &ncclCommDestroy, &ncclCommGetAsyncError,
             &ncclGetErrorString, &ncclAllReduce, &ncclBroadcast};
  out.info.compiled = true;
  out.info.available = true;
  out.info.library = "the CUDA emulator's single-rank NCCL stand-in";
  out.info.version = "stand-in";
  return out;
}

#else

std::string version_text(int v) {  // 23007 -> "2.30.7" (NCCL >= 2.9), 2708 -> "2.7.8"
  if (v >= 10000) return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  return std::to_string(v / 1000) + "." + std::to_string(v / 100 % 10) + "." + std::to_string(v % 100);
}

#define RNNLM_NCCL_STR2(x) #x
#define RNNLM_NCCL_STR(x) RNNLM_NCCL_STR2(x)

// $RNNLM_NCCL_LIBRARY, the library CMake found (the nvidia-nccl wheel), then the system's.
std::vector<std::string> candidates() {
  std::vector<std::string> names;
  if (const char* env = std::getenv("RNNLM_NCCL_LIBRARY"); env != nullptr && *env != '\0') names.push_back(env);
#if defined(RNNLM_NCCL_BUILD_LIBRARY)
  names.push_back(RNNLM_NCCL_BUILD_LIBRARY);
#endif
  names.push_back("libnccl.so." RNNLM_NCCL_STR(NCCL_MAJOR));
  names.push_back("libnccl.so");
  return names;
}

Loaded load() {
  Loaded out;
  out.info.compiled = true;
  std::string tried;
  for (const std::string& name : candidates()) {
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* e = dlerror();
      tried += "\n  " + name + ": " + (e != nullptr ? e : "not loadable");
      continue;
    }
    Api api;
    std::string missing;
    auto sym = [&](auto& slot, const char* symbol) {
      void* p = dlsym(lib, symbol);
      if (p == nullptr && missing.empty()) missing = symbol;
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(p);
    };
    sym(api.get_version, "ncclGetVersion");
    sym(api.get_unique_id, "ncclGetUniqueId");
    sym(api.comm_init_rank, "ncclCommInitRank");
    sym(api.comm_destroy, "ncclCommDestroy");
    sym(api.comm_get_async_error, "ncclCommGetAsyncError");
    sym(api.error_string, "ncclGetErrorString");
    sym(api.all_reduce, "ncclAllReduce");
    sym(api.broadcast, "ncclBroadcast");
    if (!missing.empty()) {
      tried += "\n  " + name + ": no symbol " + missing;
      dlclose(lib);
      continue;
    }
    Dl_info where{};
    out.info.library = dladdr(reinterpret_cast<void*>(api.get_version), &where) != 0 && where.dli_fname != nullptr ? where.dli_fname : name;
    int version = 0;
    if (api.get_version(&version) == ncclSuccess) out.info.version = "NCCL " + version_text(version);
    out.api = api;
    out.info.available = true;
    return out;
  }
  out.info.reason = "NCCL could not be loaded (pip install nvidia-nccl-cu13, or set RNNLM_NCCL_LIBRARY):" + tried;
  return out;
}

#endif

const Loaded& loaded() {
  static Loaded* l = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { l = new Loaded(load()); });  // kept for the process's life
  return *l;
}

struct State {
  ncclComm_t comm = nullptr;
  int device = 0;
  int rank = 0;
  cudaEvent_t done = nullptr;
  void* bucket = nullptr;  // device memory, grown on demand
  size_t bucket_bytes = 0;
};
State* g = nullptr;

const Api& api() { return loaded().api; }

void check(ncclResult_t status, const char* what) {
  if (status == ncclSuccess) return;
  fail(code::kDistributed, std::string("NCCL: ") + what + " failed: " + api().error_string(status));
}

State& state() {
  if (g == nullptr || g->comm == nullptr) fail(code::kDistributed, "NCCL: the communicator is not initialised");
  return *g;
}

void* bucket(size_t bytes) {
  State& s = state();
  if (s.bucket_bytes < bytes) {
    if (s.bucket != nullptr) cuda::device_release(s.bucket);
    s.bucket = nullptr;
    s.bucket = cuda::device_allocate(bytes, "the NCCL bucket of " + std::to_string(bytes) + " bytes");
    s.bucket_bytes = bytes;
  }
  return s.bucket;
}

// dst = src * scale, on the stream.
__global__ void scaled_copy_kernel(float* dst, const float* src, int64_t n, float scale) {
  RNNLM_GRID_LOOP(i, n) { dst[i] = src[i] * scale; }
}

// Waits (under the collective's deadline) until the stream has run everything enqueued so far;
// an asynchronous NCCL failure (a peer gone) is an error.
void wait_for_stream(const Wait& wait) {
  State& s = state();
  cuda::check_cuda(cudaEventRecord(s.done, cuda::stream()), "cudaEventRecord");
  wait([&]() {
    ncclResult_t async = ncclSuccess;
    check(api().comm_get_async_error(s.comm, &async), "ncclCommGetAsyncError");
    if (async != ncclSuccess && async != ncclInProgress) check(async, "a collective (asynchronous error)");
#if defined(RNNLM_CUDA_EMULATION)
    cuda::check_cuda(cudaEventSynchronize(s.done), "cudaEventSynchronize");  // the emulator runs streams at once
    return true;
#else
    const cudaError_t e = cudaEventQuery(s.done);
    if (e == cudaErrorNotReady) return false;
    cuda::check_cuda(e, "cudaEventQuery");
    return true;
#endif
  });
}

std::vector<int64_t> counts(const std::vector<Tensor>& tensors, bool bytes) {
  std::vector<int64_t> n;
  for (const Tensor& t : tensors) n.push_back(bytes ? static_cast<int64_t>(t.bytes()) : t.numel());
  return n;
}

}  // namespace

LibraryInfo library_info() { return loaded().info; }

void init(int rank, int size, int local_rank, const std::function<void(void*, size_t)>& share_id) {
  if (g != nullptr) return;
  const Loaded& l = loaded();
  if (!l.info.available) fail(code::kDistributed, l.info.reason);
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count <= 0) {
    cudaGetLastError();
    fail(code::kDistributed, "NCCL: rank " + std::to_string(rank) + " sees no CUDA device (" + cuda::unavailable_reason() + ")");
  }
  auto* s = new State();
  s->device = local_rank % count;  // one GPU per local rank (also with CUDA_VISIBLE_DEVICES set per rank)
  s->rank = rank;
  cuda::select_device(s->device);
  cuda::context();  // initialises the backend on that device, or throws ERR_RNNLM_DEVICE with the reason
  ncclUniqueId id{};
  if (rank == 0) check(l.api.get_unique_id(&id), "ncclGetUniqueId");
  share_id(&id, sizeof id);
  cuda::check_cuda(cudaSetDevice(s->device), "cudaSetDevice");
  check(l.api.comm_init_rank(&s->comm, size, id, rank), "ncclCommInitRank");
  cuda::check_cuda(cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  g = s;
}

int device() { return g != nullptr ? g->device : -1; }

void all_reduce_sum(const std::vector<Tensor>& tensors, float scale, int64_t bucket_bytes, const Wait& wait) {
  state();
  const std::vector<Bucket> buckets = plan_buckets(counts(tensors, false), bucket_bytes / 4);
  float* buffer = static_cast<float*>(bucket(static_cast<size_t>(largest_bucket(buckets)) * 4));
  cudaStream_t stream = cuda::stream();
  for (const Bucket& b : buckets) {
    for (const Piece& p : b.pieces)
      cuda::check_cuda(cudaMemcpyAsync(buffer + p.bucket_offset, tensors[p.tensor].f32() + p.offset, static_cast<size_t>(p.count) * 4,
                                       cudaMemcpyDeviceToDevice, stream),
                       "cudaMemcpyAsync (pack)");
    check(api().all_reduce(buffer, buffer, static_cast<size_t>(b.count), ncclFloat, ncclSum, g->comm, stream), "ncclAllReduce");
    for (const Piece& p : b.pieces) {
      float* dst = tensors[p.tensor].f32() + p.offset;
      if (scale == 1.0f) {
        cuda::check_cuda(cudaMemcpyAsync(dst, buffer + p.bucket_offset, static_cast<size_t>(p.count) * 4, cudaMemcpyDeviceToDevice, stream),
                         "cudaMemcpyAsync (unpack)");
      } else {
        RNNLM_LAUNCH(scaled_copy_kernel, cuda::blocks_for(p.count), cuda::kThreads, stream, dst, buffer + p.bucket_offset, p.count, scale);
      }
    }
  }
  wait_for_stream(wait);
}

void broadcast(const std::vector<Tensor>& tensors, int root, int64_t bucket_bytes, const Wait& wait) {
  State& s = state();
  const std::vector<Bucket> buckets = plan_buckets(counts(tensors, true), bucket_bytes);
  unsigned char* buffer = static_cast<unsigned char*>(bucket(static_cast<size_t>(largest_bucket(buckets))));
  cudaStream_t stream = cuda::stream();
  for (const Bucket& b : buckets) {
    if (s.rank == root) {
      for (const Piece& p : b.pieces)
        cuda::check_cuda(cudaMemcpyAsync(buffer + p.bucket_offset, static_cast<unsigned char*>(tensors[p.tensor].data()) + p.offset,
                                         static_cast<size_t>(p.count), cudaMemcpyDeviceToDevice, stream),
                         "cudaMemcpyAsync (pack)");
    }
    check(api().broadcast(buffer, buffer, static_cast<size_t>(b.count), ncclUint8, root, s.comm, stream), "ncclBroadcast");
    if (s.rank != root) {
      for (const Piece& p : b.pieces)
        cuda::check_cuda(cudaMemcpyAsync(static_cast<unsigned char*>(tensors[p.tensor].data()) + p.offset, buffer + p.bucket_offset,
                                         static_cast<size_t>(p.count), cudaMemcpyDeviceToDevice, stream),
                         "cudaMemcpyAsync (unpack)");
    }
  }
  wait_for_stream(wait);
}

void shutdown() {
  if (g == nullptr) return;
  State* s = g;
  g = nullptr;
  if (s->done != nullptr) cudaEventDestroy(s->done);
  if (s->bucket != nullptr) cuda::device_release(s->bucket);
  if (s->comm != nullptr) api().comm_destroy(s->comm);
  delete s;
}

}  // namespace rnnlm::dist::nccl
