// Fused log-softmax + negative log-likelihood (nn.CrossEntropyLoss with ignore_index) and a plain
// log-softmax. One block per row (blocks stride over rows): the row's max, then exp(x - max)
// written straight into the gradient row while summing, then that row scaled into
// softmax * scale minus the target's one-hot, all in one visit. The only V-sized buffer is the
// gradient itself; the loss is reduced on the device, so nothing waits for the host.
#include <math.h>

#include "cuda/backend_class.h"
#include "cuda/context.cuh"
#include "cuda/kernels_common.cuh"

namespace rnnlm::cuda {

namespace {

// count[0] = counted targets; stats[0] = the count as a double, scale[0] = the gradient scale
__global__ void count_targets_kernel(const int32_t* targets, int64_t n, int32_t ignore_index, int mean,
                                     float* count, double* stats, float* scale) {
  __shared__ double shared[32];
  double c = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) c += targets[i] != ignore_index ? 1.0 : 0.0;
  const double total = block_sum(c, shared);
  if (threadIdx.x == 0) {
    count[0] = static_cast<float>(total);
    stats[0] = total;
    // Mean over zero targets: the loss is 0/0 = NaN as in PyTorch; every gradient row is
    // ignored anyway, so the scale never reaches a number.
    scale[0] = mean ? (total > 0.0 ? 1.0f / static_cast<float>(total) : 0.0f) : 1.0f;
  }
}

__global__ void softmax_nll_rows_kernel(const float* x, const int32_t* targets, int64_t n, int64_t v,
                                        int32_t ignore_index, const float* scale_ptr, float* grad, double* row_loss) {
  __shared__ float shared[32];
  const float scale = scale_ptr[0];
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    const float* xr = x + r * v;
    float* gr = grad + r * v;
    const int32_t t = targets[r];
    if (t == ignore_index) {
      for (int64_t j = threadIdx.x; j < v; j += blockDim.x) gr[j] = 0.0f;
      if (threadIdx.x == 0) row_loss[r] = 0.0;
      continue;
    }
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) m = fmaxf(m, xr[j]);
    m = block_max(m, shared);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) {
      const float e = expf(xr[j] - m);
      gr[j] = e;
      sum += e;
    }
    sum = block_sum(sum, shared);
    // -log softmax(x)[t] = log(sum) - (x[t] - max), as log_softmax computes it
    if (threadIdx.x == 0) row_loss[r] = log(static_cast<double>(sum)) - static_cast<double>(xr[t] - m);
    const float k = scale / sum;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) gr[j] = gr[j] * k - (j == t ? scale : 0.0f);
  }
}

__global__ void loss_total_kernel(const double* row_loss, int64_t n, int mean, const double* stats, float* loss) {
  __shared__ double shared[32];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += row_loss[i];
  double total = block_sum(acc, shared);
  if (threadIdx.x == 0) {
    if (mean) total /= stats[0];  // 0/0 -> NaN, as PyTorch
    loss[0] = static_cast<float>(total);
  }
}

// out = x - max - log(sum exp(x - max)), as torch.log_softmax
__global__ void log_softmax_kernel(const float* x, float* out, int64_t n, int64_t v) {
  __shared__ float shared[32];
  for (int64_t r = blockIdx.x; r < n; r += gridDim.x) {
    const float* xr = x + r * v;
    float* o = out + r * v;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) m = fmaxf(m, xr[j]);
    m = block_max(m, shared);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) sum += expf(xr[j] - m);
    const float log_sum = logf(block_sum(sum, shared));
    for (int64_t j = threadIdx.x; j < v; j += blockDim.x) o[j] = (xr[j] - m) - log_sum;
  }
}

}  // namespace

SoftmaxNllResult CudaBackend::softmax_nll(const Tensor& logits, const Tensor& targets, int32_t ignore_index,
                                          Reduction reduction) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  const int mean = reduction == Reduction::Mean ? 1 : 0;
  cudaStream_t st = stream();
  SoftmaxNllResult result;
  result.dlogits = empty({n, v}, DType::F32);
  result.loss = empty({1}, DType::F32);
  result.count = empty({1}, DType::F32);
  // scratch: stats (1 double), scale (1 float, padded to a double), row losses (n doubles)
  Tensor scratch = empty({2 * (2 + n)}, DType::F32);
  double* stats = static_cast<double*>(scratch.data());
  float* scale = reinterpret_cast<float*>(stats + 1);
  double* row_loss = stats + 2;
  RNNLM_LAUNCH(count_targets_kernel, 1, kThreads, st, targets.i32(), n, ignore_index, mean, result.count.f32(), stats,
               scale);
  if (n > 0)
    RNNLM_LAUNCH(softmax_nll_rows_kernel, blocks_for(n, 1), kThreads, st, logits.f32(), targets.i32(), n, v,
                 ignore_index, scale, result.dlogits.f32(), row_loss);
  RNNLM_LAUNCH(loss_total_kernel, 1, kThreads, st, row_loss, n, mean, stats, result.loss.f32());
  return result;
}

Tensor CudaBackend::log_softmax(const Tensor& logits) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  Tensor out = empty({n, v}, DType::F32);
  if (n > 0 && v > 0)
    RNNLM_LAUNCH(log_softmax_kernel, blocks_for(n, 1), kThreads, stream(), logits.f32(), out.f32(), n, v);
  return out;
}

}  // namespace rnnlm::cuda
