// Row gathers and scatters, column concatenation and slicing on row-major 2-D tensors. f32 and
// i32 are both 4-byte words, so the data movers copy words; strided copies go through
// cudaMemcpy2DAsync.
#include "backend_class.h"
#include "context.cuh"
#include "row_segments.h"

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

// dst row rows[k] += src rows order[starts[k] .. starts[k + 1]) in that order, one thread per
// (segment, column): a fixed order, so the same bits every run (row_segments.h).
__global__ void segmented_row_add_kernel(float* dst, const int32_t* rows, const int32_t* starts,
                                         const int32_t* order, const float* src, int64_t k, int64_t d) {
  RNNLM_GRID_LOOP(e, k * d) {
    const int64_t seg = e / d, c = e - seg * d;
    float* out = dst + static_cast<int64_t>(rows[seg]) * d + c;
    float acc = *out;
    for (int32_t p = starts[seg]; p < starts[seg + 1]; ++p) acc += src[static_cast<int64_t>(order[p]) * d + c];
    *out = acc;
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
  const int64_t m = idx.numel();
  if (m == 0 || dst.dim(1) == 0) return;
  std::vector<int32_t> host(static_cast<size_t>(m));
  copy_to_host(idx, host.data());
  segmented_row_add(*this, dst, plan_row_segments(host.data(), m, dst.dim(0)), src);
}

// dst (N, D) rows segments.rows[k] += src (M, D) rows of segment k, in segment order.
void segmented_row_add(CudaBackend& backend, const Tensor& dst, const RowSegments& segments, const Tensor& src) {
  const int64_t k = static_cast<int64_t>(segments.rows.size()), d = dst.dim(1);
  if (k == 0 || d == 0) return;
  const Tensor rows = backend.empty({k}, DType::I32);
  const Tensor starts = backend.empty({k + 1}, DType::I32);
  const Tensor order = backend.empty({static_cast<int64_t>(segments.order.size())}, DType::I32);
  backend.copy_from_host(rows, segments.rows.data());
  backend.copy_from_host(starts, segments.starts.data());
  backend.copy_from_host(order, segments.order.data());
  RNNLM_LAUNCH(segmented_row_add_kernel, blocks_for(k * d), kThreads, stream(), dst.f32(), rows.i32(),
               starts.i32(), order.i32(), src.f32(), k, d);
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
