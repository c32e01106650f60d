// Element-wise kernels over whole tensors (fill, axpy, scale, product), full reductions and
// column sums.
#include "backend_class.h"
#include "context.cuh"
#include "kernels_common.cuh"
#include "reduce.cuh"

namespace rnnlm::cuda {

namespace {

__global__ void fill_f32_kernel(float* p, int64_t n, float v) {
  RNNLM_GRID_LOOP(i, n) p[i] = v;
}

__global__ void fill_i32_kernel(int32_t* p, int64_t n, int32_t v) {
  RNNLM_GRID_LOOP(i, n) p[i] = v;
}

__global__ void axpy_kernel(float* dst, const float* src, int64_t n, float alpha) {
  RNNLM_GRID_LOOP(i, n) dst[i] += alpha * src[i];
}

__global__ void scale_kernel(float* p, int64_t n, float alpha) {
  RNNLM_GRID_LOOP(i, n) p[i] *= alpha;
}

__global__ void mul_kernel(const float* a, const float* b, float* out, int64_t n) {
  RNNLM_GRID_LOOP(i, n) out[i] = a[i] * b[i];
}

__global__ void partial_sum_kernel(const float* x, int64_t n, int square, double* partials) {
  __shared__ double shared[32];
  double acc = 0.0;
  RNNLM_GRID_LOOP(i, n) {
    const double v = static_cast<double>(x[i]);
    acc += square ? v * v : v;
  }
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void finish_sum_kernel(const double* partials, int64_t count, int take_sqrt, float* out) {
  __shared__ double shared[32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = block_sum(acc, shared);
  if (threadIdx.x == 0) out[0] = static_cast<float>(take_sqrt ? sqrt(total) : total);
}

// Block (32, 8): threadIdx.x picks a column of the block's 32-column tile, threadIdx.y one of 8
// row phases; the 8 partial sums of a column are added in order by the first row of threads.
__global__ void column_sums_kernel(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out) {
  __shared__ double partial[8][33];
  const int64_t tiles = (cols + 31) / 32;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t c = tile * 32 + threadIdx.x;
    double acc = 0.0;
    if (c < cols)
      for (int64_t r = threadIdx.y; r < rows; r += blockDim.y) acc += static_cast<double>(x[r * ld + c]);
    partial[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
      double total = 0.0;
      for (unsigned k = 0; k < blockDim.y; ++k) total += partial[k][threadIdx.x];
      out[c] = static_cast<float>(total);
    }
    __syncthreads();
  }
}

}  // namespace

unsigned int partials_for(int64_t n) { return blocks_for(n); }

void partial_sums(const float* x, int64_t n, bool square, double* partials, cudaStream_t s) {
  RNNLM_LAUNCH(partial_sum_kernel, partials_for(n), kThreads, s, x, n, square ? 1 : 0, partials);
}

void finish_sum(const double* partials, int64_t count, bool take_sqrt, float* out, cudaStream_t s) {
  RNNLM_LAUNCH(finish_sum_kernel, 1, kThreads, s, partials, count, take_sqrt ? 1 : 0, out);
}

void column_sums(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out, cudaStream_t s) {
  if (cols <= 0) return;
  RNNLM_LAUNCH(column_sums_kernel, blocks_for((cols + 31) / 32, 1), dim3(32, 8), s, x, rows, cols, ld, out);
}

void CudaBackend::fill_(const Tensor& t, float value) {
  const int64_t n = t.numel();
  if (n == 0) return;
  if (t.dtype() == DType::I32) {
    RNNLM_LAUNCH(fill_i32_kernel, blocks_for(n), kThreads, stream(), t.i32(), n, static_cast<int32_t>(value));
  } else {
    RNNLM_LAUNCH(fill_f32_kernel, blocks_for(n), kThreads, stream(), t.f32(), n, value);
  }
}

void CudaBackend::add_(const Tensor& dst, const Tensor& src, float alpha) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  RNNLM_LAUNCH(axpy_kernel, blocks_for(n), kThreads, stream(), dst.f32(), src.f32(), n, alpha);
}

void CudaBackend::scale_(const Tensor& t, float alpha) {
  const int64_t n = t.numel();
  if (n == 0) return;
  RNNLM_LAUNCH(scale_kernel, blocks_for(n), kThreads, stream(), t.f32(), n, alpha);
}

Tensor CudaBackend::mul(const Tensor& a, const Tensor& b) {
  Tensor out = empty(a.shape(), DType::F32);
  const int64_t n = a.numel();
  if (n > 0) RNNLM_LAUNCH(mul_kernel, blocks_for(n), kThreads, stream(), a.f32(), b.f32(), out.f32(), n);
  return out;
}

Tensor CudaBackend::sum_all(const Tensor& t) {
  Tensor out = empty({1}, DType::F32);
  const int64_t n = t.numel();
  const unsigned int blocks = partials_for(n);
  Tensor partials = empty({static_cast<int64_t>(blocks) * 2}, DType::F32);  // doubles
  double* p = static_cast<double*>(partials.data());
  partial_sums(t.f32(), n, false, p, stream());
  finish_sum(p, blocks, false, out.f32(), stream());
  return out;
}

}  // namespace rnnlm::cuda
