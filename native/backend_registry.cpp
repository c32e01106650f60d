// Maps a device to the backend that owns its tensors (backend_for, declared in core/backend.h).
// It lives above native/core, beside the backends, so that the core includes no backend header.
// The CPU backend is a process-wide static; the CUDA backend exists only in builds compiled with
// RNNLM_HAVE_CUDA (native/cuda, on a GPU or, in an RNNLM_CUDA_EMULATION build, on the CPU
// emulator), and throws ERR_RNNLM_DEVICE with the reason when no GPU is usable.
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"
#include "core/backend.h"
#include "core/error.h"
#include "core/thread_pool.h"

#if defined(RNNLM_HAVE_CUDA)
#include "cuda/cuda_backend.h"
#endif

namespace rnnlm {

Backend& cpu_backend() {
  // A threaded BLAS gets the pool's thread count (RNNLM_THREADS or every core): the two take
  // turns on the same cores, so neither should think it has more.
  static cpu::CpuBackend instance = [] {
    cpu::set_blas_threads(num_threads());
    return cpu::CpuBackend();
  }();
  return instance;
}

Backend& backend_for(Device device) {
  switch (device) {
    case Device::CPU: return cpu_backend();
    case Device::CUDA:
#if defined(RNNLM_HAVE_CUDA)
      return cuda::cuda_backend();
#else
      fail(code::kDevice, "rnnlm was built without the CUDA backend");
#endif
  }
  fail(code::kDevice, "unknown device " + std::to_string(static_cast<int>(device)));
}

}  // namespace rnnlm
