// This variant's entry-point table (cpu/isa.h), compiled once per CPU kernel variant like the
// kernels it points to.
#include "isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {

#ifndef RNNLM_ISA_NAME
#define RNNLM_ISA_NAME "native"
#endif

const IsaKernels kIsaKernels = {RNNLM_ISA_NAME, &sgemm_builtin_impl, &rnn_layer_forward_impl,
                                &rnn_layer_backward_impl};

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
