// The op list every backend implements. Arguments reaching a backend have already been
// validated by ops.cpp (shapes, dtypes, devices, ranges that can be checked without reading
// device memory), so implementations only compute. Shapes are written as (rows, cols).
// Gradients are returned as new tensors; the caller accumulates them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cell.h"
#include "tensor.h"

namespace rnnlm {

// One recurrent layer in one direction over a packed batch (PyTorch PackedSequence layout:
// time-major rows, step t holds batch_sizes[t] rows, batch_sizes non-increasing, sequences
// sorted by decreasing length). N = sum(batch_sizes), B = batch_sizes[0], G = gate_count(cell).
struct LayerWeights {
  Tensor w_ih;  // (G*H, In)
  Tensor w_hh;  // (G*H, H)
  Tensor b_ih;  // (G*H) or undefined (no bias)
  Tensor b_hh;  // (G*H) or undefined
};

struct LayerSpec {
  CellKind cell = CellKind::LSTM;
  bool reverse = false;  // walk t = T-1 .. 0; hT is then the state after t = 0
  bool fused = true;     // false: the same maths as separate element-wise passes
  std::vector<int32_t> batch_sizes;  // host memory, length T
};

struct LayerForward {
  Tensor y;          // (N, H) outputs, packed like x
  Tensor h_n;        // (B, H) final hidden state of every sequence
  Tensor c_n;        // (B, H) final cell state (LSTM only, else undefined)
  Tensor workspace;  // (N, workspace_floats_per_row) kept for backward
};

struct LayerGradients {
  Tensor dx;     // (N, In)
  Tensor dh0;    // (B, H)
  Tensor dc0;    // (B, H) LSTM only
  Tensor dw_ih;  // (G*H, In)
  Tensor dw_hh;  // (G*H, H)
  Tensor db_ih;  // (G*H) if the layer has biases
  Tensor db_hh;  // (G*H)
};

struct SoftmaxNllResult {
  Tensor loss;     // (1) mean (or sum) NLL over counted targets
  Tensor count;    // (1) number of counted targets, as a float
  Tensor dlogits;  // (N, V) gradient of `loss` with respect to the logits
};

enum class Reduction : uint8_t { Mean = 0, Sum = 1 };

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  int64_t step = 1;                     // 1-based, after increment
};

struct SgdOptions {
  double lr = 0.01, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  int64_t step = 1;  // step 1 initialises the momentum buffer with the gradient, as PyTorch
};

struct RmspropOptions {
  double lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;  // e.g. "cpu (OpenBLAS 0.3.21, 2 threads)"

  // --- memory -------------------------------------------------------------------------------
  virtual Tensor empty(const Shape& shape, DType dtype) = 0;
  virtual void copy_from_host(const Tensor& dst, const void* src) = 0;  // dst.bytes() bytes
  virtual void copy_to_host(const Tensor& src, void* dst) = 0;          // waits for the device
  virtual Tensor clone(const Tensor& src) = 0;

  // --- element-wise and data movement ------------------------------------------------------
  virtual void fill_(const Tensor& t, float value) = 0;
  virtual void add_(const Tensor& dst, const Tensor& src, float alpha) = 0;  // dst += alpha*src
  virtual void scale_(const Tensor& t, float alpha) = 0;
  virtual Tensor mul(const Tensor& a, const Tensor& b) = 0;  // same shapes
  virtual Tensor sum_all(const Tensor& t) = 0;               // (1)
  // (N, D) -> (M, D): row idx[m] of x, or zeros where idx[m] == -1
  virtual Tensor gather_rows(const Tensor& x, const Tensor& idx) = 0;
  // dst (N, D) row idx[m] += src row m, skipping idx[m] == -1 (duplicates accumulate)
  virtual void scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src) = 0;
  // Concatenate 2-D tensors with equal row counts along columns: (N, D1) ++ (N, D2) ...
  virtual Tensor concat_cols(const std::vector<Tensor>& parts) = 0;
  // Columns [start, start + width) of (N, D) as a new (N, width) tensor
  virtual Tensor slice_cols(const Tensor& x, int64_t start, int64_t width) = 0;

  // --- random (Philox, see philox.h) --------------------------------------------------------
  virtual void uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset) = 0;
  virtual void normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) = 0;

  // --- layers -----------------------------------------------------------------------------
  // weight (V, E), ids int32 of any shape S -> S ++ (E)
  virtual Tensor embedding_forward(const Tensor& weight, const Tensor& ids) = 0;
  // dy S ++ (E), ids S -> dweight (V, E)
  virtual Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) = 0;

  // x (N, In), w (Out, In), b (Out) or undefined -> (N, Out)
  virtual Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) = 0;
  // -> dx (N, In) (undefined when !need_dx), dw (Out, In), db (Out) (undefined without bias)
  virtual void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias,
                               bool need_dx, Tensor& dx, Tensor& dw, Tensor& db) = 0;

  // y = x * mask, mask = (u >= p) / (1 - p) with u = philox_uniform(seed, offset, i)
  virtual void dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset,
                               Tensor& y, Tensor& mask) = 0;

  // x (N, In) packed, h0/c0 (B, H) (c0 LSTM only; undefined means zeros).
  // Workspace row r must hold only what the backward needs for packed row r (its gates and its
  // own h_prev / c_prev): the step-by-step decoder (ops_vae.cpp) runs one-step layers and
  // concatenates their workspaces into the workspace of the whole scan for rnn_layer_backward.
  virtual LayerForward rnn_layer_forward(const LayerSpec& spec, const Tensor& x,
                                         const LayerWeights& weights, const Tensor& h0,
                                         const Tensor& c0) = 0;
  // dy (N, H); dh_n, dc_n (B, H) or undefined (zeros)
  virtual LayerGradients rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                            const LayerWeights& weights, const Tensor& h0,
                                            const Tensor& c0, const LayerForward& forward,
                                            const Tensor& dy, const Tensor& dh_n,
                                            const Tensor& dc_n) = 0;

  // logits (N, V), targets int32 (N); targets equal to ignore_index count for nothing.
  virtual SoftmaxNllResult softmax_nll(const Tensor& logits, const Tensor& targets,
                                       int32_t ignore_index, Reduction reduction) = 0;
  // logits (N, V) -> log-probabilities (N, V), for sampling and evaluation
  virtual Tensor log_softmax(const Tensor& logits) = 0;

  // --- sentence VAE (ops_vae.h) -------------------------------------------------------------
  // y = e^x element-wise, any shape
  virtual Tensor exp(const Tensor& x) = 0;
  // mean, logv (B, Z) -> (B): the KL divergence of N(mean, e^logv) from N(0, I) per row,
  //   kl[b] = -0.5 * sum_j (1 + logv[b, j] - mean[b, j]^2 - e^logv[b, j])   (summed in double)
  virtual Tensor gaussian_kl(const Tensor& mean, const Tensor& logv) = 0;
  // dkl (B) -> dmean = dkl[b] * mean[b, j], dlogv = 0.5 * dkl[b] * (e^logv[b, j] - 1), (B, Z)
  virtual void gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl,
                                    Tensor& dmean, Tensor& dlogv) = 0;
  // One step of step-by-step decoding: what each row reads next. logits (M, V); teacher (K)
  // int32 with K <= M, or undefined. For row m, with i = index_base + m:
  //   predicted[m] (M) = the first argmax of logits[m] when temperature == 0, else a draw from
  //     softmax(logits[m] / temperature) by inverse CDF (ids in order 0..V-1) at
  //     u = philox_uniform(seed, offset, 2 i + 1)
  //   chosen[m] (K) = teacher[m] if philox_uniform(seed, offset, 2 i) < teacher_ratio, else
  //     predicted[m]; without teacher, chosen is predicted (K = M).
  // The choice between teacher and prediction is bit-exact across backends (same draws, same
  // comparison); argmax and sampling agree up to the rounding of the logits.
  virtual void decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio,
                           float temperature, uint64_t seed, uint64_t offset, int64_t index_base,
                           Tensor& predicted, Tensor& chosen) = 0;

  // --- optimisation -------------------------------------------------------------------------
  // (1): sqrt of the sum of squares of every tensor
  virtual Tensor global_norm(const std::vector<Tensor>& tensors) = 0;
  // Scales every tensor by min(1, max_norm / (norm + 1e-6)); returns the norm before clipping.
  virtual Tensor clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) = 0;
  virtual void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                          const Tensor& exp_avg_sq, const AdamOptions& options) = 0;
  virtual void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                         const SgdOptions& options) = 0;  // buffer undefined when momentum == 0
  virtual void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                             const Tensor& grad_avg, const Tensor& momentum_buffer,
                             const RmspropOptions& options) = 0;  // optional tensors undefined
};

// The backend that owns tensors of `device`; CUDA throws ERR_RNNLM_DEVICE when not compiled in
// or no GPU is present.
Backend& backend_for(Device device);
Backend& cpu_backend();

}  // namespace rnnlm
