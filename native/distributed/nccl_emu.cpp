// The single-rank NCCL stand-in of the CUDA emulator build (see nccl_emu.h).
#if defined(RNNLM_CUDA_EMULATION)
#include "nccl_emu.h"

#include <cstring>

struct EmuNcclComm {
  int nranks = 1;
};

namespace {

size_t element_size(ncclDataType_t type) { return type == ncclFloat32 ? 4 : 1; }

ncclResult_t copy(const void* send, void* recv, size_t count, ncclDataType_t type, ncclComm_t comm, cudaStream_t stream) {
  if (comm == nullptr) return ncclInvalidArgument;
  if (type != ncclFloat32 && type != ncclUint8) return ncclInvalidArgument;
  if (send == recv || count == 0) return ncclSuccess;
  return cudaMemcpyAsync(recv, send, count * element_size(type), cudaMemcpyDeviceToDevice, stream) == cudaSuccess
             ? ncclSuccess
             : ncclUnhandledCudaError;
}

}  // namespace

ncclResult_t ncclGetVersion(int* version) {
  if (version == nullptr) return ncclInvalidArgument;
  *version = 0;  // not a release: rnnlm_info reports the stand-in by name
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (id == nullptr) return ncclInvalidArgument;
  std::memset(id->internal, 0, sizeof id->internal);
  std::memcpy(id->internal, "rnnlm-emu", 9);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId, int rank) {
  if (comm == nullptr || rank < 0 || rank >= nranks) return ncclInvalidArgument;
  if (nranks != 1) return ncclInvalidUsage;  // the stand-in serves a world of one rank
  *comm = new EmuNcclComm();
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  if (comm == nullptr || error == nullptr) return ncclInvalidArgument;
  *error = ncclSuccess;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {
    case ncclSuccess: return "no error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage (the emulator's NCCL stand-in serves a world of one rank only)";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    default: return "NCCL stand-in error";
  }
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (op != ncclSum) return ncclInvalidArgument;
  return copy(send, recv, count, type, comm, stream);  // the sum over one rank
}

ncclResult_t ncclBroadcast(const void* send, void* recv, size_t count, ncclDataType_t type, int root,
                           ncclComm_t comm, cudaStream_t stream) {
  if (root != 0) return ncclInvalidArgument;
  return copy(send, recv, count, type, comm, stream);
}
#endif  // RNNLM_CUDA_EMULATION
