// CPU kernel variants. The kernels whose speed depends on the vector width (the built-in GEMM's
// micro-kernel, the RNN scan with its recurrent GEMM and fused cells, the softmax, the optimizer
// steps; cmake/isa.cmake lists the sources) are compiled once per variant, each into its own
// namespace rnnlm::cpu::<variant>, and reached only through the IsaKernels table of the
// variant picked once per process (isa_dispatch.cpp).
//
//   default build (-march=native)  one variant, isa_native, compiled for the build machine
//   portable build (RNNLM_PORTABLE) isa_v2 (x86-64-v2: SSE4.2), isa_v3 (AVX2 + FMA),
//                                   isa_v4 (AVX-512 F/BW/DQ/VL/CD), picked from the CPU's flags
//
// This header is the dispatch side (no variant's declarations); isa_variant.h is the variant side.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/backend.h"

namespace rnnlm::cpu {

// One variant's entry points (the rest of the engine calls these only through isa_kernels()):
// the built-in GEMM and the CpuBackend ops whose loops gain from wider vectors.
struct IsaKernels {
  const char* name;  // "native", "x86-64-v2", "avx2", "avx512"
  void (*sgemm_builtin)(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                        float* c, int64_t ldc);
  LayerForward (*rnn_layer_forward)(const LayerSpec& spec, const Tensor& x,
                                    const LayerWeights& weights, const Tensor& h0, const Tensor& c0);
  LayerGradients (*rnn_layer_backward)(const LayerSpec& spec, const Tensor& x,
                                       const LayerWeights& weights, const Tensor& h0,
                                       const Tensor& c0, const LayerForward& forward,
                                       const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n);
  SoftmaxNllResult (*softmax_nll)(const Tensor& logits, const Tensor& targets,
                                  int32_t ignore_index, Reduction reduction);
  Tensor (*log_softmax)(const Tensor& logits);
  Tensor (*global_norm)(const std::vector<Tensor>& tensors);
  Tensor (*clip_grad_norm_)(const std::vector<Tensor>& tensors, float max_norm);
  void (*adam_step_)(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                     const Tensor& exp_avg_sq, const AdamOptions& options);
  void (*sgd_step_)(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                    const SgdOptions& options);
  void (*rmsprop_step_)(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                        const Tensor& grad_avg, const Tensor& momentum_buffer,
                        const RmspropOptions& options);
};

// The variant this process uses, chosen on first call; RNNLM_CPU_KERNELS=x86-64-v2|avx2|avx512
// asks for one (refused when the CPU lacks its instructions).
const IsaKernels& isa_kernels();

struct IsaChoice {
  std::string variant;  // IsaKernels::name
  std::string reason;   // why this one
  std::string flags;    // the CPU features looked at, e.g. "avx2 fma avx512f ..."
  bool portable;        // a multi-variant (portable) build
};
const IsaChoice& isa_choice();

}  // namespace rnnlm::cpu
