// Embedding lookup and its gradient, and the fully connected layer y = x W^T + b, all on the
// backend's stream; the linear layer's products go through cuBLAS.
#include "cuda/backend_class.h"
#include "cuda/context.cuh"
#include "cuda/reduce.cuh"
#include "cuda/row_segments.h"

namespace rnnlm::cuda {

namespace {

// out (n, e) row r = weight row ids[r]
__global__ void embedding_forward_kernel(const float* weight, const int32_t* ids, float* out, int64_t n, int64_t e) {
  RNNLM_GRID_LOOP(k, n * e) {
    const int64_t r = k / e, c = k - r * e;
    out[k] = weight[static_cast<int64_t>(ids[r]) * e + c];
  }
}

// y (n, out) row r = b
__global__ void broadcast_rows_kernel(const float* b, float* y, int64_t n, int64_t out) {
  RNNLM_GRID_LOOP(k, n * out) y[k] = b[k % out];
}

}  // namespace

// weight (V, E), ids S -> S ++ (E)
Tensor CudaBackend::embedding_forward(const Tensor& weight, const Tensor& ids) {
  const int64_t e = weight.dim(1), n = ids.numel();
  Shape shape = ids.shape();
  shape.push_back(e);
  Tensor out = empty(shape, DType::F32);
  if (n * e > 0)
    RNNLM_LAUNCH(embedding_forward_kernel, blocks_for(n * e), kThreads, stream(), weight.f32(), ids.i32(), out.f32(), n, e);
  return out;
}

// dy S ++ (E), ids S -> dweight (V, E)
Tensor CudaBackend::embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  const int64_t n = ids.numel(), e = dy.dim(-1);
  Tensor dw = empty({vocab, e}, DType::F32);
  fill_(dw, 0.0f);
  if (n * e == 0) return dw;
  // Positions grouped by id and added in order (row_segments.h): the same bits every run, and
  // the CPU's.
  std::vector<int32_t> host(static_cast<size_t>(n));
  copy_to_host(ids, host.data());
  segmented_row_add(*this, dw, plan_row_segments(host.data(), n, vocab), dy);
  return dw;
}

// x (N, In), w (Out, In), b (Out) or undefined -> (N, Out)
Tensor CudaBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  Tensor y = empty({n, out}, DType::F32);
  if (n == 0 || out == 0) return y;
  float beta = 0.0f;
  if (b.defined()) {
    // Seed every row with the bias and let the GEMM accumulate onto it.
    RNNLM_LAUNCH(broadcast_rows_kernel, blocks_for(n * out), kThreads, stream(), b.f32(), y.f32(), n, out);
    beta = 1.0f;
  }
  // y (N, Out) = x (N, In) w^T (In, Out); with In == 0 this leaves beta * y (bias or zeros)
  sgemm(false, true, n, out, in, 1.0f, x.f32(), in, w.f32(), in, beta, y.f32(), out);
  return y;
}

// dy (N, Out), x (N, In), w (Out, In) -> dx (N, In), dw (Out, In), db (Out)
void CudaBackend::linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias, bool need_dx,
                                  Tensor& dx, Tensor& dw, Tensor& db) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  dx = Tensor();
  if (need_dx) {
    dx = empty({n, in}, DType::F32);
    // dx (N, In) = dy (N, Out) w (Out, In); Out == 0 gives zeros
    sgemm(false, false, n, in, out, 1.0f, dy.f32(), out, w.f32(), in, 0.0f, dx.f32(), in);
  }
  dw = empty({out, in}, DType::F32);
  // dw (Out, In) = dy^T (Out, N) x (N, In); N == 0 gives zeros
  sgemm(true, false, out, in, n, 1.0f, dy.f32(), out, x.f32(), in, 0.0f, dw.f32(), in);
  db = Tensor();
  if (has_bias) {
    db = empty({out}, DType::F32);
    column_sums(dy.f32(), n, out, out, db.f32(), stream());
  }
}

}  // namespace rnnlm::cuda
