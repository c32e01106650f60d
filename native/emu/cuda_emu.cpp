// The CUDA emulator's runtime and kernel scheduler (see cuda_emu.h).
//
// A launch runs its blocks one after another on the calling thread. Within a block, each CUDA
// thread is a fiber (ucontext) with its own stack. The scheduler resumes every runnable fiber in
// turn; a fiber gives control back when it finishes or when it reaches a barrier:
//   - block barrier (__syncthreads): released when every unfinished thread of the block waits there;
//   - warp barrier (__syncwarp, and twice inside every shuffle): released when every unfinished
//     thread of that warp waits there.
// If neither can be released while threads still wait, the kernel would hang on a GPU too (a
// barrier in divergent code); the launch then fails with cudaErrorLaunchFailure and a message on
// stderr, rather than hanging the test.
#include "cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <map>
#include <vector>

namespace rnnlm::emu {

namespace {

constexpr size_t kStackBytes = size_t{256} << 10;  // per fiber; mapped lazily, one guard page
constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr size_t kDefaultMemory = size_t{8} << 30;

// --- sticky error, as the runtime keeps the last error until cudaGetLastError reads it -------

thread_local cudaError_t g_last_error = cudaSuccess;

cudaError_t record(cudaError_t e) {
  if (e != cudaSuccess) g_last_error = e;
  return e;
}

// --- fibers ------------------------------------------------------------------------------------

enum class State { Runnable, AtBlockBarrier, AtWarpBarrier, Done };

struct Fiber {
  ucontext_t context;
  char* stack = nullptr;  // base of the mapping (guard page first)
  uint3 index{0, 0, 0};
  int linear = 0;
  State state = State::Done;
};

struct Block {
  uint3 index{0, 0, 0};
  dim3 dim;
  dim3 grid;
  std::vector<Fiber> fibers;
  int count = 0;  // threads in this block
  std::vector<uint64_t> slots;  // one per thread, for warp exchanges
  ucontext_t scheduler;
  Fiber* current = nullptr;
  void (*body)(void*) = nullptr;
  void* arg = nullptr;
};

thread_local Block* g_block = nullptr;

char* map_stack() {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  mprotect(p, page, PROT_NONE);  // overflow faults instead of corrupting a neighbour
  return static_cast<char*>(p);
}

void fiber_main() {
  Block* b = g_block;
  b->body(b->arg);
  b->current->state = State::Done;
  // uc_link returns to the scheduler.
}

Fiber& current_fiber() {
  if (g_block == nullptr || g_block->current == nullptr) {
    std::fprintf(stderr, "rnnlm emu: a device function ran outside of a kernel launch\n");
    std::abort();
  }
  return *g_block->current;
}

void yield(State waiting) {
  Block* b = g_block;
  Fiber& f = current_fiber();
  f.state = waiting;
  swapcontext(&f.context, &b->scheduler);
}

bool reverse_schedule() {
  const char* s = std::getenv("RNNLM_EMU_SCHEDULE");
  return s != nullptr && std::string(s) == "reverse";
}

// Runs one block to completion; false when its barriers deadlock.
bool run_block(Block& b, bool reverse) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (int t = 0; t < b.count; ++t) {
    Fiber& f = b.fibers[static_cast<size_t>(t)];
    f.linear = t;
    f.index = uint3{static_cast<unsigned>(t) % b.dim.x, (static_cast<unsigned>(t) / b.dim.x) % b.dim.y,
                    static_cast<unsigned>(t) / (b.dim.x * b.dim.y)};
    f.state = State::Runnable;
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack + page;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = &b.scheduler;
    makecontext(&f.context, fiber_main, 0);
  }
  const int warps = (b.count + 31) / 32;
  for (;;) {
    for (int k = 0; k < b.count; ++k) {
      const int t = reverse ? b.count - 1 - k : k;
      Fiber& f = b.fibers[static_cast<size_t>(t)];
      if (f.state != State::Runnable) continue;
      b.current = &f;
      swapcontext(&b.scheduler, &f.context);
      b.current = nullptr;
    }
    int alive = 0, at_block = 0;
    for (int t = 0; t < b.count; ++t) {
      const State s = b.fibers[static_cast<size_t>(t)].state;
      alive += s != State::Done;
      at_block += s == State::AtBlockBarrier;
    }
    if (alive == 0) return true;
    bool released = false;
    for (int w = 0; w < warps; ++w) {
      const int t0 = w * 32, t1 = t0 + 32 < b.count ? t0 + 32 : b.count;
      int waiting = 0, unfinished = 0;
      for (int t = t0; t < t1; ++t) {
        const State s = b.fibers[static_cast<size_t>(t)].state;
        unfinished += s != State::Done;
        waiting += s == State::AtWarpBarrier;
      }
      if (waiting > 0 && waiting == unfinished) {
        for (int t = t0; t < t1; ++t)
          if (b.fibers[static_cast<size_t>(t)].state == State::AtWarpBarrier)
            b.fibers[static_cast<size_t>(t)].state = State::Runnable;
        released = true;
      }
    }
    if (!released && at_block == alive) {
      for (Fiber& f : b.fibers)
        if (f.state == State::AtBlockBarrier) f.state = State::Runnable;
      released = true;
    }
    if (!released) return false;
  }
}

// Fibers and their stacks, kept per OS thread and reused by every launch.
std::vector<Fiber>& fiber_pool(size_t count) {
  thread_local std::vector<Fiber> pool;
  while (pool.size() < count) {
    Fiber f;
    f.stack = map_stack();
    if (f.stack == nullptr) break;
    pool.push_back(f);
  }
  return pool;
}

// --- memory ------------------------------------------------------------------------------------

struct Memory {
  std::mutex mutex;
  std::map<const char*, size_t> blocks;  // base -> bytes
  size_t used = 0;
};

Memory& memory() {
  static Memory* m = new Memory();
  return *m;
}

size_t memory_limit() {
  const char* s = std::getenv("RNNLM_EMU_MEMORY");
  if (s == nullptr || *s == '\0') return kDefaultMemory;
  return static_cast<size_t>(std::strtoull(s, nullptr, 10));
}

int device_count() {
  const char* s = std::getenv("RNNLM_EMU_DEVICE_COUNT");
  if (s == nullptr || *s == '\0') return 1;
  return std::atoi(s);
}

bool is_device_pointer_range(const void* p, size_t bytes) {
  Memory& m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  const char* c = static_cast<const char*>(p);
  auto it = m.blocks.upper_bound(c);
  if (it == m.blocks.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

// The kinds name where each side lives; a host pointer passed as device memory (or the reverse)
// is the bug this catches, since on a GPU it would fault or copy garbage.
cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return record(cudaErrorInvalidValue);
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind == cudaMemcpyDefault) return cudaSuccess;
  if (kind != cudaMemcpyHostToHost && kind != cudaMemcpyHostToDevice && kind != cudaMemcpyDeviceToHost &&
      kind != cudaMemcpyDeviceToDevice)
    return record(cudaErrorInvalidMemcpyDirection);
  if (dst_device && !is_device_pointer_range(dst, bytes)) return record(cudaErrorInvalidValue);
  if (src_device && !is_device_pointer_range(src, bytes)) return record(cudaErrorInvalidValue);
  if (!dst_device && is_device_pointer_range(dst, 1)) return record(cudaErrorInvalidValue);
  if (!src_device && is_device_pointer_range(src, 1)) return record(cudaErrorInvalidValue);
  return cudaSuccess;
}

}  // namespace

const uint3& thread_idx() { return current_fiber().index; }
const uint3& block_idx() {
  current_fiber();
  return g_block->index;
}
const dim3& block_dim() {
  current_fiber();
  return g_block->dim;
}
const dim3& grid_dim() {
  current_fiber();
  return g_block->grid;
}

int lane_id() { return current_fiber().linear % 32; }

void sync_block() { yield(State::AtBlockBarrier); }
void sync_warp() { yield(State::AtWarpBarrier); }

// Every lane publishes its value, the warp meets, each lane reads its source's value, and the
// warp meets again before any lane may publish the next value.
uint64_t warp_exchange(uint64_t bits, int src_lane, int /*width*/) {
  Fiber& f = current_fiber();
  Block* b = g_block;
  const int warp_base = f.linear - f.linear % 32;
  b->slots[static_cast<size_t>(f.linear)] = bits;
  sync_warp();
  const int src = warp_base + src_lane % 32;
  const uint64_t out = src < b->count ? b->slots[static_cast<size_t>(src)] : bits;
  sync_warp();
  return out;
}

void launch(dim3 grid, dim3 block, cudaStream_t /*stream*/, void (*body)(void*), void* arg) {
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > kMaxThreadsPerBlock ||
      block.z > 64 || grid.y > 65535 || grid.z > 65535) {
    record(cudaErrorInvalidConfiguration);
    return;
  }
  if (g_block != nullptr) {
    std::fprintf(stderr, "rnnlm emu: kernel launched from inside a kernel\n");
    record(cudaErrorLaunchFailure);
    return;
  }
  std::vector<Fiber>& pool = fiber_pool(threads);
  if (pool.size() < threads) {
    record(cudaErrorMemoryAllocation);
    return;
  }
  Block b;
  b.dim = block;
  b.grid = grid;
  b.count = static_cast<int>(threads);
  b.body = body;
  b.arg = arg;
  b.slots.assign(threads, 0);
  b.fibers.swap(pool);  // borrow the pool's fibers (and stacks) for this launch
  const bool reverse = reverse_schedule();
  g_block = &b;
  bool ok = true;
  // Blocks run one after another, in grid order or (reverse schedule) the other way round: a
  // result that depends on the order blocks run in (atomics on floats, a missing inter-block
  // dependency) differs between the two schedules.
  const uint64_t blocks = static_cast<uint64_t>(grid.x) * grid.y * grid.z;
  for (uint64_t k = 0; k < blocks && ok; ++k) {
    const uint64_t linear = reverse ? blocks - 1 - k : k;
    b.index = uint3{static_cast<unsigned>(linear % grid.x), static_cast<unsigned>((linear / grid.x) % grid.y),
                    static_cast<unsigned>(linear / (static_cast<uint64_t>(grid.x) * grid.y))};
    ok = run_block(b, reverse);
  }
  g_block = nullptr;
  b.fibers.swap(pool);
  if (!ok) {
    std::fprintf(stderr,
                 "rnnlm emu: kernel deadlocked: threads wait at different barriers (a barrier "
                 "or shuffle in divergent code)\n");
    record(cudaErrorLaunchFailure);
  }
}

}  // namespace rnnlm::emu

// --- the runtime API ---------------------------------------------------------------------------

using rnnlm::emu::check_copy;
using rnnlm::emu::record;

struct EmuStream {
  int id;
};
struct EmuEvent {
  int id;
};

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = rnnlm::emu::g_last_error;
  rnnlm::emu::g_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return rnnlm::emu::g_last_error; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record(cudaErrorInvalidValue);
  const int n = rnnlm::emu::device_count();
  *count = n > 0 ? n : 0;
  return n > 0 ? cudaSuccess : record(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= rnnlm::emu::device_count()) return record(cudaErrorInvalidDevice);
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return record(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return record(cudaErrorInvalidValue);
  if (device < 0 || device >= rnnlm::emu::device_count()) return record(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulated on the CPU");
  prop->totalGlobalMem = rnnlm::emu::memory_limit();
  prop->major = 0;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = static_cast<int>(rnnlm::emu::kMaxThreadsPerBlock);
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  *version = 0;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return record(cudaErrorInvalidValue);
  *version = 0;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  rnnlm::emu::Memory& m = rnnlm::emu::memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  const size_t limit = rnnlm::emu::memory_limit();
  if (free_bytes != nullptr) *free_bytes = m.used < limit ? limit - m.used : 0;
  if (total_bytes != nullptr) *total_bytes = limit;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (ptr == nullptr) return record(cudaErrorInvalidValue);
  *ptr = nullptr;
  rnnlm::emu::Memory& m = rnnlm::emu::memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  const size_t padded = bytes > 0 ? (bytes + 255) / 256 * 256 : 256;
  if (padded > rnnlm::emu::memory_limit() || m.used > rnnlm::emu::memory_limit() - padded)
    return record(cudaErrorMemoryAllocation);
  void* p = std::aligned_alloc(256, padded);
  if (p == nullptr) return record(cudaErrorMemoryAllocation);
  // Fresh device memory is not zeroed on a GPU; a recognisable NaN pattern makes a kernel that
  // reads memory nobody wrote show up in the results.
  std::memset(p, 0xff, padded);
  m.blocks[static_cast<const char*>(p)] = padded;
  m.used += padded;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  rnnlm::emu::Memory& m = rnnlm::emu::memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.blocks.find(static_cast<const char*>(ptr));
  if (it == m.blocks.end()) return record(cudaErrorInvalidDevicePointer);
  m.used -= it->second;
  m.blocks.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return e;
  if (bytes > 0) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                              size_t height, cudaMemcpyKind kind, cudaStream_t) {
  if (width == 0 || height == 0) return cudaSuccess;
  if (width > dpitch || width > spitch) return record(cudaErrorInvalidValue);
  const size_t dst_span = dpitch * (height - 1) + width, src_span = spitch * (height - 1) + width;
  // The whole strided span must lie inside one allocation on each device side.
  if (const cudaError_t e = check_copy(dst, src, 0, kind); e != cudaSuccess) return e;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (dst_device && !rnnlm::emu::is_device_pointer_range(dst, dst_span)) return record(cudaErrorInvalidValue);
  if (src_device && !rnnlm::emu::is_device_pointer_range(src, src_span)) return record(cudaErrorInvalidValue);
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) {
  if (bytes == 0) return cudaSuccess;
  if (!rnnlm::emu::is_device_pointer_range(ptr, bytes)) return record(cudaErrorInvalidValue);
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int) {
  if (stream == nullptr) return record(cudaErrorInvalidValue);
  static std::atomic<int> next{1};
  *stream = new EmuStream{next++};
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  if (event == nullptr) return record(cudaErrorInvalidValue);
  *event = new EmuEvent{0};
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
