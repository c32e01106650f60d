// The backend object, its description, and tensor memory: allocation through the caching
// allocator, host copies on the backend's stream (the copy to the host is where the host waits).
#include <mutex>

#include "backend_class.h"
#include "context.cuh"
#include "cuda_backend.h"

namespace rnnlm::cuda {

Backend& cuda_backend() {
  context();  // throws ERR_RNNLM_DEVICE with the reason when CUDA is unusable
  static CudaBackend* instance = new CudaBackend();  // never destroyed: see context.cu
  return *instance;
}

std::string CudaBackend::describe() const { return context().description; }

Tensor CudaBackend::empty(const Shape& shape, DType dtype) {
  const int64_t numel = shape_numel(shape);
  RNNLM_CHECK(static_cast<uint64_t>(numel) <= (uint64_t{1} << 60) / dtype_size(dtype), code::kOutOfMemory,
              "cuda: tensor of shape " + shape_str(shape) + " is too large");
  const size_t bytes = static_cast<size_t>(numel) * dtype_size(dtype);
  void* p = device_allocate(bytes, "a tensor of shape " + shape_str(shape));
  try {
    auto storage = std::make_shared<Storage>(p, bytes, Device::CUDA, [](void* ptr, size_t) { device_release(ptr); });
    return Tensor(std::move(storage), shape, dtype);
  } catch (const std::bad_alloc&) {
    device_release(p);
    fail(code::kOutOfMemory, "cuda: out of host memory allocating tensor bookkeeping");
  }
}

// A pageable source is staged by the driver before cudaMemcpyAsync returns, so the caller may
// free it at once; the copy itself is ordered after earlier work on the stream.
void CudaBackend::copy_from_host(const Tensor& dst, const void* src) {
  if (dst.bytes() == 0) return;
  check_cuda(cudaMemcpyAsync(dst.data(), src, dst.bytes(), cudaMemcpyHostToDevice, stream()), "cudaMemcpyAsync (host to device)");
}

void CudaBackend::copy_to_host(const Tensor& src, void* dst) {
  if (src.bytes() == 0) return;
  check_cuda(cudaMemcpyAsync(dst, src.data(), src.bytes(), cudaMemcpyDeviceToHost, stream()), "cudaMemcpyAsync (device to host)");
  check_cuda(cudaStreamSynchronize(stream()), "cudaStreamSynchronize");
}

Tensor CudaBackend::clone(const Tensor& src) {
  Tensor out = empty(src.shape(), src.dtype());
  if (src.bytes() > 0)
    check_cuda(cudaMemcpyAsync(out.data(), src.data(), src.bytes(), cudaMemcpyDeviceToDevice, stream()), "cudaMemcpyAsync (device to device)");
  return out;
}

}  // namespace rnnlm::cuda
