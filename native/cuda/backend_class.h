// The CUDA backend class. Its methods are defined across native/cuda/*.cu, one file per op
// family, mirroring native/cpu; device state (stream, cuBLAS, allocator) lives in context.cuh.
#pragma once
#include "core/backend.h"

namespace rnnlm::cuda {

class CudaBackend final : public Backend {
 public:
  Device device() const override { return Device::CUDA; }
  std::string describe() const override;

#define RNNLM_BACKEND_OP(ret, name, params) ret name params override;
#include "core/backend_ops.def"
#undef RNNLM_BACKEND_OP
};

}  // namespace rnnlm::cuda
