// This variant's entry-point table (cpu/isa.h), compiled once per CPU kernel variant like the
// kernels it points to.
#include "isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {

#ifndef RNNLM_ISA_NAME
#define RNNLM_ISA_NAME "native"
#endif

const IsaKernels kIsaKernels = {
    RNNLM_ISA_NAME,           &sgemm_builtin_impl,          &VariantOps::rnn_layer_forward,
    &VariantOps::rnn_layer_backward, &VariantOps::softmax_nll, &VariantOps::log_softmax,
    &VariantOps::global_norm, &VariantOps::clip_grad_norm_, &VariantOps::adam_step_,
    &VariantOps::sgd_step_,   &VariantOps::rmsprop_step_};

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
