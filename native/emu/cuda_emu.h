// CUDA emulated on the CPU, so that the CUDA backend's own .cu files can be compiled by the host
// C++ compiler and tested on machines without a GPU (RNNLM_CUDA_EMULATION builds only).
//
// What is mapped, and how:
//   - qualifiers (__global__, __device__, __host__, __forceinline__, __launch_bounds__) vanish;
//     __shared__ becomes a static thread_local, which every thread of a block sees because a
//     block's threads all run on the one OS thread that runs the block;
//   - a kernel launch (RNNLM_LAUNCH in native/cuda/api.cuh) runs every block in turn, and in each
//     block every thread as its own fiber (ucontext) with its own stack; a fiber runs until it
//     finishes or reaches a barrier, so __syncthreads, __syncwarp and the warp shuffles (which
//     exchange values through the block and synchronise the warp) behave as on the device;
//   - threadIdx / blockIdx / blockDim / gridDim read the running fiber's coordinates;
//   - atomics are real atomic read-modify-writes;
//   - the runtime calls the backend uses (device query, memory, copies, memset, streams, events)
//     act on host memory, synchronously; invalid launch configurations and invalid copy
//     arguments set the sticky error that cudaGetLastError reports, as the runtime would;
//   - the cuBLAS calls the backend uses are declared in cublas_emu.h.
// Environment (read when the emulated device is first queried / on each allocation):
//   RNNLM_EMU_DEVICE_COUNT  devices reported (default 1; 0 emulates a machine without a GPU)
//   RNNLM_EMU_MEMORY        bytes of emulated device memory (default 8 GiB) for OOM tests
//   RNNLM_EMU_SCHEDULE      'forward' (default) or 'reverse': the order threads run between
//                           barriers and the order blocks run in (read at each launch), to
//                           expose missing __syncthreads and block-order-dependent results
#pragma once
#include <math.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#define RNNLM_CUDA_EMULATED 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __restrict__ __restrict

struct uint3 {
  unsigned int x, y, z;
};

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

// --- runtime types ---------------------------------------------------------------------------

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInsufficientDriver = 35,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

struct EmuStream;
struct EmuEvent;
typedef EmuStream* cudaStream_t;
typedef EmuEvent* cudaEvent_t;

constexpr unsigned int cudaStreamDefault = 0;
constexpr unsigned int cudaStreamNonBlocking = 1;
constexpr unsigned int cudaEventDefault = 0;
constexpr unsigned int cudaEventDisableTiming = 2;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  int major;
  int minor;
  int multiProcessorCount;
  int warpSize;
  int maxThreadsPerBlock;
};

const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t stream = nullptr);
cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);

// --- kernels -----------------------------------------------------------------------------------

namespace rnnlm::emu {

// The coordinates of the running emulated thread (valid inside a launch only).
const uint3& thread_idx();
const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();

void sync_block();                      // __syncthreads
void sync_warp();                       // __syncwarp
uint64_t warp_exchange(uint64_t bits, int src_lane, int width);  // shuffle core: see cuda_emu.cpp
int lane_id();

// Runs body(arg) once per thread of every block. Invalid configurations set the sticky error.
void launch(dim3 grid, dim3 block, cudaStream_t stream, void (*body)(void*), void* arg);

template <typename F>
void launch(dim3 grid, dim3 block, cudaStream_t stream, F&& fn) {
  using Fn = std::remove_reference_t<F>;
  launch(grid, block, stream, [](void* p) { (*static_cast<Fn*>(p))(); }, &fn);
}

template <typename T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a type wider than 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}

template <typename T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

}  // namespace rnnlm::emu

#define threadIdx (::rnnlm::emu::thread_idx())
#define blockIdx (::rnnlm::emu::block_idx())
#define blockDim (::rnnlm::emu::block_dim())
#define gridDim (::rnnlm::emu::grid_dim())
constexpr int warpSize = 32;

inline void __syncthreads() { ::rnnlm::emu::sync_block(); }
inline void __syncwarp(unsigned int /*mask*/ = 0xffffffffu) { ::rnnlm::emu::sync_warp(); }

// Shuffles: every lane of the warp must take part (the backend only shuffles with full warps).
template <typename T>
T __shfl_sync(unsigned int /*mask*/, T v, int src_lane, int width = 32) {
  const int lane = ::rnnlm::emu::lane_id();
  const int base = lane - lane % width;
  const int src = base + ((src_lane % width) + width) % width;
  return ::rnnlm::emu::from_bits<T>(::rnnlm::emu::warp_exchange(::rnnlm::emu::to_bits(v), src, width));
}

template <typename T>
T __shfl_down_sync(unsigned int /*mask*/, T v, unsigned int delta, int width = 32) {
  const int lane = ::rnnlm::emu::lane_id();
  const int in_segment = lane % width;
  const int src = in_segment + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return ::rnnlm::emu::from_bits<T>(::rnnlm::emu::warp_exchange(::rnnlm::emu::to_bits(v), src, width));
}

template <typename T>
T __shfl_up_sync(unsigned int /*mask*/, T v, unsigned int delta, int width = 32) {
  const int lane = ::rnnlm::emu::lane_id();
  const int in_segment = lane % width;
  const int src = in_segment >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
  return ::rnnlm::emu::from_bits<T>(::rnnlm::emu::warp_exchange(::rnnlm::emu::to_bits(v), src, width));
}

template <typename T>
T __shfl_xor_sync(unsigned int /*mask*/, T v, int lane_mask, int width = 32) {
  const int lane = ::rnnlm::emu::lane_id();
  const int base = lane - lane % width;
  const int src = base + ((lane % width) ^ lane_mask);
  return ::rnnlm::emu::from_bits<T>(
      ::rnnlm::emu::warp_exchange(::rnnlm::emu::to_bits(v), src < base + width ? src : lane, width));
}

// Atomics: a compare-and-swap loop on the bits, as the device's float atomics behave.
inline float atomicAdd(float* address, float value) {
  uint32_t* bits = reinterpret_cast<uint32_t*>(address);
  uint32_t old = __atomic_load_n(bits, __ATOMIC_RELAXED);
  for (;;) {
    float f;
    std::memcpy(&f, &old, sizeof f);
    const float sum = f + value;
    uint32_t desired;
    std::memcpy(&desired, &sum, sizeof desired);
    if (__atomic_compare_exchange_n(bits, &old, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return f;
  }
}

inline double atomicAdd(double* address, double value) {
  uint64_t* bits = reinterpret_cast<uint64_t*>(address);
  uint64_t old = __atomic_load_n(bits, __ATOMIC_RELAXED);
  for (;;) {
    double f;
    std::memcpy(&f, &old, sizeof f);
    const double sum = f + value;
    uint64_t desired;
    std::memcpy(&desired, &sum, sizeof desired);
    if (__atomic_compare_exchange_n(bits, &old, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return f;
  }
}

inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); }
inline unsigned int atomicAdd(unsigned int* address, unsigned int value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline int atomicMax(int* address, int value) {
  int old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old < value &&
         !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}

template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
