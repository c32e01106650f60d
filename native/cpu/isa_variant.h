// The variant side of cpu/isa.h: which variant a kernel source is being compiled into, and that
// variant's entry points. Included by every variant-compiled source and header (gemm_kernel.h,
// fast_math.h, ops/rnn/cpu_cells.h, ops/rnn/cpu_recurrent_gemm.h), never by the rest.
//
// RNNLM_ISA_NS names the variant's namespace; RNNLM_SIMD_WIDTH (512, 256 or 128) is the vector
// width its kernels are written for. A portable build's variant sources are compiled through
// generated wrappers (cmake/isa_wrapper.cpp.in) that set both and enable the instruction set
// with #pragma GCC target around the source, after isa_prelude.h has brought in every shared
// header: unlike -m flags, the pragma leaves each function defined outside it (inline library
// code included) compiled for the baseline, so no AVX-512 copy of a shared inline function can be
// the one another caller links to. A default build compiles the same sources directly, once,
// as the variant isa_native (-march=native decides the width).
#pragma once
#include "isa.h"

#ifndef RNNLM_ISA_NS
#define RNNLM_ISA_NS isa_native
#endif

#ifndef RNNLM_SIMD_WIDTH
#if defined(__AVX512F__)
#define RNNLM_SIMD_WIDTH 512
#elif defined(__AVX__)
#define RNNLM_SIMD_WIDTH 256
#else
#define RNNLM_SIMD_WIDTH 128
#endif
#endif

namespace rnnlm::cpu {

inline namespace RNNLM_ISA_NS {

// This variant's table (isa_kernels.cpp).
extern const IsaKernels kIsaKernels;

void sgemm_builtin_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                        float* c, int64_t ldc);

// The CpuBackend ops compiled per variant. Their sources define them as members of this class
// (`VariantOps::adam_step_` where a default build once had `CpuBackend::adam_step_`); CpuBackend
// forwards to the chosen variant's (isa_dispatch.cpp). The static helpers stand in for the
// CpuBackend methods those bodies call.
struct VariantOps {
  static LayerForward rnn_layer_forward(const LayerSpec& spec, const Tensor& x,
                                        const LayerWeights& weights, const Tensor& h0,
                                        const Tensor& c0);
  static LayerGradients rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                           const LayerWeights& weights, const Tensor& h0,
                                           const Tensor& c0, const LayerForward& forward,
                                           const Tensor& dy, const Tensor& dh_n,
                                           const Tensor& dc_n);
  static SoftmaxNllResult softmax_nll(const Tensor& logits, const Tensor& targets,
                                      int32_t ignore_index, Reduction reduction);
  static Tensor log_softmax(const Tensor& logits);
  static Tensor global_norm(const std::vector<Tensor>& tensors);
  static Tensor clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm);
  static void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                         const Tensor& exp_avg_sq, const AdamOptions& options);
  static void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                        const SgdOptions& options);
  static void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                            const Tensor& grad_avg, const Tensor& momentum_buffer,
                            const RmspropOptions& options);

  static Tensor empty(const Shape& shape, DType dtype) { return cpu_backend().empty(shape, dtype); }
  static void scale_(const Tensor& t, float alpha) { cpu_backend().scale_(t, alpha); }
};

}  // namespace RNNLM_ISA_NS

}  // namespace rnnlm::cpu
