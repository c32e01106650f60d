// The CPU backend: host memory, CBLAS or the built-in GEMM, the thread pool.
// Its methods are defined across native/cpu/*.cpp, one file per op family.
#pragma once
#include "core/backend.h"

namespace rnnlm::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::CPU; }
  std::string describe() const override;

#define RNNLM_BACKEND_OP(ret, name, params) ret name params override;
#include "core/backend_ops.def"
#undef RNNLM_BACKEND_OP
};

}  // namespace rnnlm::cpu
