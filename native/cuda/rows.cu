// Row gathers and scatters, column concatenation and slicing on row-major 2-D tensors. f32 and
// i32 are both 4-byte words, so the data movers copy words; strided copies go through
// cudaMemcpy2DAsync.
#include "backend_class.h"
#include "context.cuh"

namespace rnnlm::cuda {

namespace {

// out (M, D) row m = x row idx[m], or zeros where idx[m] == -1
__global__ void gather_rows_kernel(const uint32_t* x, const int32_t* idx, uint32_t* out, int64_t m, int64_t d) {
  RNNLM_GRID_LOOP(e, m * d) {
    const int64_t r = e / d, c = e - r * d;
    const int32_t src = idx[r];
    out[e] = src < 0 ? 0u : x[static_cast<int64_t>(src) * d + c];
  }
}

// dst row idx[m] += src row m; duplicates accumulate through atomics (their order, and so the
// last bits of a sum of several rows, may vary run to run, as with PyTorch's index_add_ on CUDA).
__global__ void scatter_add_rows_kernel(float* dst, const int32_t* idx, const float* src, int64_t m, int64_t d) {
  RNNLM_GRID_LOOP(e, m * d) {
    const int64_t r = e / d, c = e - r * d;
    const int32_t row = idx[r];
    if (row >= 0) atomicAdd(dst + static_cast<int64_t>(row) * d + c, src[e]);
  }
}

}  // namespace

Tensor CudaBackend::gather_rows(const Tensor& x, const Tensor& idx) {
  const int64_t m = idx.numel(), d = x.dim(1);
  Tensor out = empty({m, d}, x.dtype());
  if (m * d > 0)
    RNNLM_LAUNCH(gather_rows_kernel, blocks_for(m * d), kThreads, stream(), static_cast<const uint32_t*>(x.data()),
                 idx.i32(), static_cast<uint32_t*>(out.data()), m, d);
  return out;
}

void CudaBackend::scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src) {
  const int64_t m = idx.numel(), d = dst.dim(1);
  if (m * d == 0) return;
  RNNLM_LAUNCH(scatter_add_rows_kernel, blocks_for(m * d), kThreads, stream(), dst.f32(), idx.i32(), src.f32(), m, d);
}

// parts (N, D_k) -> (N, sum D_k): one strided copy per part
Tensor CudaBackend::concat_cols(const std::vector<Tensor>& parts) {
  const int64_t n = parts[0].dim(0);
  const DType dtype = parts[0].dtype();
  const size_t elem = dtype_size(dtype);
  int64_t total = 0;
  for (const Tensor& p : parts) total += p.dim(1);
  Tensor out = empty({n, total}, dtype);
  if (n == 0) return out;
  const size_t out_row = static_cast<size_t>(total) * elem;
  size_t offset = 0;
  for (const Tensor& p : parts) {
    const size_t width = static_cast<size_t>(p.dim(1)) * elem;
    if (width == 0) continue;
    if (n == 1) {  // one long row (concat_rows flattens to this): a plain copy, no pitch limits
      check_cuda(cudaMemcpyAsync(static_cast<char*>(out.data()) + offset, p.data(), width, cudaMemcpyDeviceToDevice,
                                 stream()),
                 "cudaMemcpyAsync (concat_cols)");
      offset += width;
      continue;
    }
    check_cuda(cudaMemcpy2DAsync(static_cast<char*>(out.data()) + offset, out_row, p.data(), width, width,
                                 static_cast<size_t>(n), cudaMemcpyDeviceToDevice, stream()),
               "cudaMemcpy2DAsync (concat_cols)");
    offset += width;
  }
  return out;
}

// x (N, D) -> (N, width): columns [start, start + width)
Tensor CudaBackend::slice_cols(const Tensor& x, int64_t start, int64_t width) {
  const int64_t n = x.dim(0);
  const size_t elem = dtype_size(x.dtype());
  Tensor out = empty({n, width}, x.dtype());
  const size_t out_row = static_cast<size_t>(width) * elem;
  if (out_row == 0 || n == 0) return out;
  const size_t in_row = static_cast<size_t>(x.dim(1)) * elem;
  if (n == 1) {  // slice_rows flattens to one long row
    check_cuda(cudaMemcpyAsync(out.data(), static_cast<const char*>(x.data()) + static_cast<size_t>(start) * elem, out_row,
                               cudaMemcpyDeviceToDevice, stream()),
               "cudaMemcpyAsync (slice_cols)");
    return out;
  }
  check_cuda(cudaMemcpy2DAsync(out.data(), out_row, static_cast<const char*>(x.data()) + static_cast<size_t>(start) * elem,
                               in_row, out_row, static_cast<size_t>(n), cudaMemcpyDeviceToDevice, stream()),
             "cudaMemcpy2DAsync (slice_cols)");
  return out;
}

}  // namespace rnnlm::cuda
