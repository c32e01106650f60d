// CPU memory: 64-byte aligned host buffers (a cache line, and one AVX-512 vector), recycled
// when large; plain copies.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu_backend.h"
#include "gemm.h"

namespace rnnlm::cpu {

namespace {

constexpr size_t kAlignment = 64;

// Large buffers are recycled instead of returned to the C library. A training step allocates
// the same big tensors (logits gradients, workspaces) every step; glibc serves those with fresh
// mmap()s whose page faults and kernel zeroing cost as much as the softmax that fills them.
// Small buffers go straight to malloc, which already recycles them well.
constexpr size_t kCacheMinBytes = size_t{1} << 20;    // 1 MiB
constexpr size_t kCacheMaxBytes = size_t{512} << 20;  // held idle at most
constexpr size_t kMaxBlocks = 64;

struct HostBlock {
  void* data;
  size_t bytes;  // the block's real size, which may exceed the tensor's
};

class BlockCache {
 public:
  // A cached block of at least `bytes` and at most 1/8 larger, or null.
  HostBlock take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t best = blocks_.size();
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const size_t have = blocks_[i].bytes;
      if (have >= bytes && have - bytes <= bytes / 8 &&
          (best == blocks_.size() || have < blocks_[best].bytes))
        best = i;
    }
    if (best == blocks_.size()) return HostBlock{nullptr, 0};
    const HostBlock found{blocks_[best].data, blocks_[best].bytes};
    cached_ -= found.bytes;
    blocks_[best] = blocks_.back();
    blocks_.pop_back();
    return found;
  }

  // Keeps the block for reuse, evicting the least recently returned ones over the limits.
  void give(void* data, size_t bytes) {
    std::vector<void*> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      blocks_.push_back(Block{data, bytes, ++clock_});
      cached_ += bytes;
      while (cached_ > kCacheMaxBytes || blocks_.size() > kMaxBlocks) {
        size_t oldest = 0;
        for (size_t i = 1; i < blocks_.size(); ++i)
          if (blocks_[i].stamp < blocks_[oldest].stamp) oldest = i;
        evicted.push_back(blocks_[oldest].data);
        cached_ -= blocks_[oldest].bytes;
        blocks_[oldest] = blocks_.back();
        blocks_.pop_back();
      }
    }
    for (void* p : evicted) std::free(p);
  }

 private:
  struct Block {
    void* data;
    size_t bytes;
    uint64_t stamp;
  };
  std::mutex mutex_;
  std::vector<Block> blocks_;
  size_t cached_ = 0;
  uint64_t clock_ = 0;
};

// Never destroyed: tensors held in other statics may be released during exit.
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache();
  return *cache;
}

// Sizes are padded to the alignment (aligned_alloc requires a multiple), and cached sizes
// further to 64 KiB so that tensors of nearby shapes share blocks.
size_t padded_size(size_t bytes) {
  if (bytes == 0) return kAlignment;
  const size_t unit = bytes >= kCacheMinBytes ? size_t{1} << 16 : kAlignment;
  return (bytes + unit - 1) / unit * unit;
}

HostBlock allocate_host(size_t bytes) {
  const size_t padded = padded_size(bytes);
  if (padded >= kCacheMinBytes) {
    if (HostBlock b = block_cache().take(padded); b.data != nullptr) return b;
  }
  return HostBlock{std::aligned_alloc(kAlignment, padded), padded};
}

void release_host(const HostBlock& block) {
  if (block.bytes >= kCacheMinBytes && block.bytes <= kCacheMaxBytes) {
    block_cache().give(block.data, block.bytes);
  } else {
    std::free(block.data);
  }
}

}  // namespace

std::string CpuBackend::describe() const {
  std::string gemm;
  if (gemm_provider() == GemmProvider::Blas) {
    // blas_name() may carry a threading suffix ("OpenBLAS 0.3.21 (pthreads)"); keep the name and
    // version so the description stays one flat parenthesis.
    gemm = blas_name();
    const size_t paren = gemm.find(" (");
    if (paren != std::string::npos) gemm.resize(paren);
  } else {
    gemm = "built-in GEMM";
  }
  const int threads = num_threads();
  return "cpu (" + gemm + ", " + std::to_string(threads) + (threads == 1 ? " thread)" : " threads)");
}

Tensor CpuBackend::empty(const Shape& shape, DType dtype) {
  const int64_t numel = shape_numel(shape);
  RNNLM_CHECK(static_cast<uint64_t>(numel) <= (uint64_t{1} << 60) / dtype_size(dtype),
              code::kOutOfMemory, "cpu: tensor of shape " + shape_str(shape) + " is too large");
  const size_t bytes = static_cast<size_t>(numel) * dtype_size(dtype);
  const HostBlock block = allocate_host(bytes);
  RNNLM_CHECK(block.data != nullptr, code::kOutOfMemory,
              "cpu: out of memory allocating " + std::to_string(bytes) + " bytes for a tensor of shape " +
                  shape_str(shape));
  try {
    auto storage = std::make_shared<Storage>(block.data, bytes, Device::CPU,
                                             [block](void*, size_t) { release_host(block); });
    return Tensor(std::move(storage), shape, dtype);
  } catch (const std::bad_alloc&) {
    // make_shared failed before the Storage took ownership of the buffer.
    release_host(block);
    fail(code::kOutOfMemory, "cpu: out of memory allocating tensor bookkeeping");
  }
}

void CpuBackend::copy_from_host(const Tensor& dst, const void* src) {
  if (dst.bytes() > 0) std::memcpy(dst.data(), src, dst.bytes());
}

void CpuBackend::copy_to_host(const Tensor& src, void* dst) {
  if (src.bytes() > 0) std::memcpy(dst, src.data(), src.bytes());
}

Tensor CpuBackend::clone(const Tensor& src) {
  Tensor out = empty(src.shape(), src.dtype());
  if (src.bytes() > 0) std::memcpy(out.data(), src.data(), src.bytes());
  return out;
}

}  // namespace rnnlm::cpu
