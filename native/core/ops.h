// The engine's public C++ API: every op validates its arguments (shapes, dtypes, devices, ranges
// and scalar arguments), throwing rnnlm::Error with a code and a message naming the argument,
// then dispatches to the backend of its inputs' device. The bindings call only these.
#pragma once
#include "backend.h"

namespace rnnlm::ops {

Tensor empty(const Shape& shape, DType dtype, Device device);
Tensor zeros(const Shape& shape, DType dtype, Device device);
Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device);
void to_host(const Tensor& t, void* dst);
Tensor to_device(const Tensor& t, Device device);
Tensor clone(const Tensor& t);

void fill_(const Tensor& t, float value);
void add_(const Tensor& dst, const Tensor& src, float alpha);
void scale_(const Tensor& t, float alpha);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor exp(const Tensor& x);
Tensor sum_all(const Tensor& t);
Tensor gather_rows(const Tensor& x, const Tensor& idx);
void scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src);
Tensor concat_cols(const std::vector<Tensor>& parts);
Tensor slice_cols(const Tensor& x, int64_t start, int64_t width);
Tensor concat_rows(const std::vector<Tensor>& parts);  // along dim 0, trailing dims equal
Tensor slice_rows(const Tensor& x, int64_t start, int64_t count);

void uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset);
void normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset);

Tensor embedding_forward(const Tensor& weight, const Tensor& ids);
Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab);
Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b);
void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias,
                     bool need_dx, Tensor& dx, Tensor& dw, Tensor& db);
void dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& y,
                     Tensor& mask);

LayerForward rnn_layer_forward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights,
                               const Tensor& h0, const Tensor& c0);
LayerGradients rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                  const LayerWeights& weights, const Tensor& h0, const Tensor& c0,
                                  const LayerForward& forward, const Tensor& dy,
                                  const Tensor& dh_n, const Tensor& dc_n);

SoftmaxNllResult softmax_nll(const Tensor& logits, const Tensor& targets, int32_t ignore_index,
                             Reduction reduction);
Tensor log_softmax(const Tensor& logits);
// KL(N(mean, e^logv) || N(0, I)) per row: mean, logv (B, Z) -> (B); dkl (B) -> dmean, dlogv
Tensor gaussian_kl(const Tensor& mean, const Tensor& logv);
void gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl, Tensor& dmean,
                          Tensor& dlogv);

Tensor global_norm(const std::vector<Tensor>& tensors);
Tensor clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm);
void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                const Tensor& exp_avg_sq, const AdamOptions& options);
void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
               const SgdOptions& options);
void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                   const Tensor& grad_avg, const Tensor& momentum_buffer,
                   const RmspropOptions& options);

}  // namespace rnnlm::ops
