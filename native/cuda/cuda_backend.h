// The CUDA backend as the rest of the engine and the bindings see it: plain C++, no CUDA headers.
// The backend itself (native/cuda/*.cu) exists only in builds with RNNLM_HAVE_CUDA; in an
// RNNLM_CUDA_EMULATION build the same sources run on the CPU emulator (native/emu).
#pragma once
#include <cstdint>
#include <string>

#include "core/backend.h"

namespace rnnlm::cuda {

// The backend of Device::CUDA. Initialises the device on first use (device RNNLM_CUDA_DEVICE,
// default 0). Throws ERR_RNNLM_DEVICE with the reason when no GPU is usable (no driver, no
// device, cuBLAS not loadable); the reason is remembered, so later calls fail at once.
Backend& cuda_backend();

// Makes the backend initialise on `device` instead of RNNLM_CUDA_DEVICE (data-parallel training:
// the GPU of this local rank). Must come before the first use of Device::CUDA; throws
// ERR_RNNLM_DEVICE when the backend already runs on another device.
void select_device(int device);

// Why the CUDA backend cannot be used in this process, or "" when it can (initialises it).
std::string unavailable_reason();

// True in the emulator build.
bool emulated();

// The caching allocator's counters, for `rnnlm info` and the tests that check a training loop
// allocates nothing from the device once warm.
struct MemoryStats {
  int64_t device_allocations = 0;  // cudaMalloc calls that succeeded
  int64_t device_frees = 0;        // cudaFree calls (cache trims)
  int64_t cache_hits = 0;          // requests served from the cache
  int64_t reserved_bytes = 0;      // held from the device: in use + cached
  int64_t in_use_bytes = 0;        // held by live tensors
  int64_t cached_bytes = 0;        // free, kept for reuse
};
MemoryStats memory_stats();

// Gives every cached (free) block back to the device.
void empty_cache();

}  // namespace rnnlm::cuda
