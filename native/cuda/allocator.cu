// The caching device allocator. cudaMalloc and cudaFree synchronise the device and cost tens of
// microseconds, so freed blocks are kept and handed out again: a training loop allocates the
// same tensors every step and, once warm, never reaches cudaMalloc.
//
// All work runs on the backend's one stream, so a block freed by the host (its tensor dropped)
// may be reused at once: any later kernel that writes it is queued behind the kernels that still
// read it. Sizes are rounded (512 B under 1 MiB, 2 MiB above) so that nearby shapes share blocks;
// a request takes the smallest cached block that fits and wastes at most an eighth of it. When
// cudaMalloc fails the cache is returned to the device and the allocation retried once; if that
// fails too the error says how many bytes were asked for and what the device has.
#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>

#include "context.cuh"
#include "cuda_backend.h"

namespace rnnlm::cuda {

namespace {

constexpr size_t kSmall = size_t{1} << 20;
constexpr size_t kSmallUnit = 512;
constexpr size_t kLargeUnit = size_t{2} << 20;

size_t rounded_size(size_t bytes) {
  if (bytes == 0) return kSmallUnit;
  const size_t unit = bytes < kSmall ? kSmallUnit : kLargeUnit;
  return (bytes + unit - 1) / unit * unit;
}

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

class CachingAllocator {
 public:
  void* allocate(size_t bytes, const std::string& what) {
    const size_t size = rounded_size(bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = cached_.lower_bound(size);
    if (it != cached_.end() && it->first - size <= size / 8) {
      void* p = it->second;
      const size_t have = it->first;
      cached_.erase(it);
      stats_.cache_hits += 1;
      stats_.cached_bytes -= static_cast<int64_t>(have);
      stats_.in_use_bytes += static_cast<int64_t>(have);
#if defined(RNNLM_CUDA_EMULATION)
      // Reused memory holds the last tensor's values; NaN bytes make a kernel that reads what it
      // never wrote visible in the emulator's results (fresh blocks are poisoned the same way).
      cudaMemsetAsync(p, 0xff, have, stream());
#endif
      return p;
    }
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached_locked();
      status = cudaMalloc(&p, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      cudaGetLastError();
      fail(code::kOutOfMemory,
           "cuda: out of memory allocating " + std::to_string(bytes) + " bytes (" + mib(bytes) + ") for " +
               what + "; the device has " + mib(free_bytes) + " free of " + mib(total_bytes) +
               ", rnnlm holds " + mib(static_cast<size_t>(stats_.in_use_bytes)) + " in tensors");
    }
    check_cuda(status, "cudaMalloc");
    sizes_[p] = size;
    stats_.device_allocations += 1;
    stats_.reserved_bytes += static_cast<int64_t>(size);
    stats_.in_use_bytes += static_cast<int64_t>(size);
    return p;
  }

  // Never throws: called from tensor destructors.
  void release(void* p) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(p);
    if (it == sizes_.end()) return;
    cached_.emplace(it->second, p);
    stats_.in_use_bytes -= static_cast<int64_t>(it->second);
    stats_.cached_bytes += static_cast<int64_t>(it->second);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  // cudaFree waits for the device, so no kernel still uses the block when it goes.
  void release_cached_locked() {
    for (const auto& [size, p] : cached_) {
      cudaFree(p);
      sizes_.erase(p);
      stats_.device_frees += 1;
      stats_.reserved_bytes -= static_cast<int64_t>(size);
      stats_.cached_bytes -= static_cast<int64_t>(size);
    }
    cached_.clear();
    cudaGetLastError();
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> cached_;       // free blocks by size
  std::unordered_map<void*, size_t> sizes_;   // every block held, in use or cached
  MemoryStats stats_;
};

CachingAllocator& allocator() {
  static CachingAllocator* a = new CachingAllocator();  // never destroyed: see context.cu
  return *a;
}

}  // namespace

void* device_allocate(size_t bytes, const std::string& what) { return allocator().allocate(bytes, what); }
void device_release(void* ptr) { allocator().release(ptr); }

MemoryStats memory_stats() { return allocator().stats(); }

void empty_cache() { allocator().empty_cache(); }

}  // namespace rnnlm::cuda
