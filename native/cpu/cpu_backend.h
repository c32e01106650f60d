// The CPU backend: host memory, CBLAS or the built-in GEMM, the thread pool.
// Its methods are defined across native/cpu/*.cpp, one file per op family.
#pragma once
#include "../core/backend.h"

namespace rnnlm::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  std::string describe() const override;

  Tensor empty(const Shape& shape, DType dtype) override;
  void copy_from_host(const Tensor& dst, const void* src) override;
  void copy_to_host(const Tensor& src, void* dst) override;
  Tensor clone(const Tensor& src) override;
  void fill_(const Tensor& t, float value) override;
  void add_(const Tensor& dst, const Tensor& src, float alpha) override;
  void scale_(const Tensor& t, float alpha) override;
  Tensor mul(const Tensor& a, const Tensor& b) override;
  Tensor sum_all(const Tensor& t) override;
  Tensor gather_rows(const Tensor& x, const Tensor& idx) override;
  void scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src) override;
  Tensor concat_cols(const std::vector<Tensor>& parts) override;
  Tensor slice_cols(const Tensor& x, int64_t start, int64_t width) override;
  void uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset) override;
  void normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) override;
  Tensor embedding_forward(const Tensor& weight, const Tensor& ids) override;
  Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) override;
  Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) override;
  void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias, bool need_dx, Tensor& dx, Tensor& dw, Tensor& db) override;
  void dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& y, Tensor& mask) override;
  LayerForward rnn_layer_forward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights, const Tensor& h0, const Tensor& c0) override;
  LayerGradients rnn_layer_backward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights, const Tensor& h0, const Tensor& c0, const LayerForward& forward, const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n) override;
  SoftmaxNllResult softmax_nll(const Tensor& logits, const Tensor& targets, int32_t ignore_index, Reduction reduction) override;
  Tensor log_softmax(const Tensor& logits) override;
  Tensor exp(const Tensor& x) override;
  Tensor gaussian_kl(const Tensor& mean, const Tensor& logv) override;
  void gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl, Tensor& dmean, Tensor& dlogv) override;
  void decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio, float temperature, uint64_t seed, uint64_t offset, int64_t index_base, Tensor& predicted, Tensor& chosen) override;
  Tensor global_norm(const std::vector<Tensor>& tensors) override;
  Tensor clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) override;
  void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamOptions& options) override;
  void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, const SgdOptions& options) override;
  void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& grad_avg, const Tensor& momentum_buffer, const RmspropOptions& options) override;
};

}  // namespace rnnlm::cpu
