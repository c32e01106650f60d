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
// This variant's table (isa_kernels.cpp) and the entry points it points to.
extern const IsaKernels kIsaKernels;
void sgemm_builtin_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                        float* c, int64_t ldc);
LayerForward rnn_layer_forward_impl(const LayerSpec& spec, const Tensor& x,
                                    const LayerWeights& weights, const Tensor& h0, const Tensor& c0);
LayerGradients rnn_layer_backward_impl(const LayerSpec& spec, const Tensor& x,
                                       const LayerWeights& weights, const Tensor& h0,
                                       const Tensor& c0, const LayerForward& forward,
                                       const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n);
}  // namespace RNNLM_ISA_NS

}  // namespace rnnlm::cpu
