// Picks the CPU kernel variant once per process (see isa.h) and routes the engine's calls to it.
// Compiled for the baseline only: nothing here may use an instruction the oldest variant lacks.
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "cpu_backend.h"
#include "gemm.h"
#include "isa.h"

#if !defined(RNNLM_PORTABLE_ISA)
#include "isa_variant.h"  // the one variant, isa_native
#else
namespace rnnlm::cpu {
namespace isa_v2 { extern const IsaKernels kIsaKernels; }
namespace isa_v3 { extern const IsaKernels kIsaKernels; }
namespace isa_v4 { extern const IsaKernels kIsaKernels; }
}  // namespace rnnlm::cpu
#endif

namespace rnnlm::cpu {

namespace {

struct Selection {
  const IsaKernels* kernels;
  IsaChoice choice;
};

#if defined(RNNLM_PORTABLE_ISA)
// The features each variant is compiled for (cmake/isa.cmake's #pragma GCC target lists).
// __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
struct Feature {
  const char* name;
  bool present;
};

std::string joined(const Feature* features, size_t count, bool want_present) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (features[i].present != want_present) continue;
    if (!out.empty()) out += ' ';
    out += features[i].name;
  }
  return out;
}

Selection select() {
  __builtin_cpu_init();
  const Feature v3[] = {{"avx", __builtin_cpu_supports("avx") != 0},
                        {"avx2", __builtin_cpu_supports("avx2") != 0},
                        {"fma", __builtin_cpu_supports("fma") != 0}};
  const Feature v4[] = {{"avx512f", __builtin_cpu_supports("avx512f") != 0},
                        {"avx512bw", __builtin_cpu_supports("avx512bw") != 0},
                        {"avx512dq", __builtin_cpu_supports("avx512dq") != 0},
                        {"avx512vl", __builtin_cpu_supports("avx512vl") != 0},
                        {"avx512cd", __builtin_cpu_supports("avx512cd") != 0}};
  const bool has_v3 = joined(v3, 3, false).empty();
  const bool has_v4 = has_v3 && joined(v4, 5, false).empty();
  std::string flags = joined(v3, 3, true);
  const std::string v4_seen = joined(v4, 5, true);
  if (!v4_seen.empty()) flags += (flags.empty() ? "" : " ") + v4_seen;
  if (flags.empty()) flags = "sse4.2 only";

  const char* wanted = std::getenv("RNNLM_CPU_KERNELS");
  if (wanted != nullptr && *wanted != '\0') {
    const std::string w = wanted;
    const IsaKernels* k = w == "avx512" ? &isa_v4::kIsaKernels
                          : w == "avx2" ? &isa_v3::kIsaKernels
                          : w == "x86-64-v2" ? &isa_v2::kIsaKernels
                                             : nullptr;
    RNNLM_CHECK(k != nullptr, code::kArgument,
                "RNNLM_CPU_KERNELS must be 'avx512', 'avx2' or 'x86-64-v2', got '" + w + "'");
    RNNLM_CHECK(k != &isa_v4::kIsaKernels || has_v4, code::kArgument,
                "RNNLM_CPU_KERNELS=avx512, but this CPU lacks " + joined(v4, 5, false) +
                    (has_v3 ? "" : " " + joined(v3, 3, false)));
    RNNLM_CHECK(k != &isa_v3::kIsaKernels || has_v3, code::kArgument,
                "RNNLM_CPU_KERNELS=avx2, but this CPU lacks " + joined(v3, 3, false));
    return {k, {k->name, "asked for by RNNLM_CPU_KERNELS", flags, true}};
  }
  if (has_v4)
    return {&isa_v4::kIsaKernels, {"avx512", "the CPU has AVX-512 (avx512f/bw/dq/vl/cd)", flags, true}};
  if (has_v3)
    return {&isa_v3::kIsaKernels,
            {"avx2", "the CPU has AVX2 and FMA but lacks " + joined(v4, 5, false), flags, true}};
  return {&isa_v2::kIsaKernels,
          {"x86-64-v2", "the CPU lacks " + joined(v3, 3, false), flags, true}};
}
#else
Selection select() {
  return {&kIsaKernels,
          {kIsaKernels.name, "this build compiles one set of kernels for the build machine's CPU",
           "-", false}};
}
#endif

const Selection& selection() {
  static const Selection s = select();
  return s;
}

}  // namespace

const IsaKernels& isa_kernels() { return *selection().kernels; }
const IsaChoice& isa_choice() { return selection().choice; }

void sgemm_builtin(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc) {
  isa_kernels().sgemm_builtin(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// The ops compiled per variant (isa_variant.h's VariantOps), each forwarded to the chosen one.
LayerForward CpuBackend::rnn_layer_forward(const LayerSpec& spec, const Tensor& x,
                                           const LayerWeights& weights, const Tensor& h0,
                                           const Tensor& c0) {
  return isa_kernels().rnn_layer_forward(spec, x, weights, h0, c0);
}

LayerGradients CpuBackend::rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                              const LayerWeights& weights, const Tensor& h0,
                                              const Tensor& c0, const LayerForward& forward,
                                              const Tensor& dy, const Tensor& dh_n,
                                              const Tensor& dc_n) {
  return isa_kernels().rnn_layer_backward(spec, x, weights, h0, c0, forward, dy, dh_n, dc_n);
}

SoftmaxNllResult CpuBackend::softmax_nll(const Tensor& logits, const Tensor& targets,
                                         int32_t ignore_index, Reduction reduction) {
  return isa_kernels().softmax_nll(logits, targets, ignore_index, reduction);
}

Tensor CpuBackend::log_softmax(const Tensor& logits) { return isa_kernels().log_softmax(logits); }

Tensor CpuBackend::global_norm(const std::vector<Tensor>& tensors) {
  return isa_kernels().global_norm(tensors);
}

Tensor CpuBackend::clip_grad_norm_(const std::vector<Tensor>& tensors, float max_norm) {
  return isa_kernels().clip_grad_norm_(tensors, max_norm);
}

void CpuBackend::adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                            const Tensor& exp_avg_sq, const AdamOptions& options) {
  isa_kernels().adam_step_(param, grad, exp_avg, exp_avg_sq, options);
}

void CpuBackend::sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                           const SgdOptions& options) {
  isa_kernels().sgd_step_(param, grad, momentum_buffer, options);
}

void CpuBackend::rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                               const Tensor& grad_avg, const Tensor& momentum_buffer,
                               const RmspropOptions& options) {
  isa_kernels().rmsprop_step_(param, grad, square_avg, grad_avg, momentum_buffer, options);
}

}  // namespace rnnlm::cpu
