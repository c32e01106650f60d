// The NCCL side of the communicator (nccl_comm.cu): CUDA tensors reduced and broadcast by NCCL on
// the CUDA backend's stream. Exists in builds with RNNLM_HAVE_NCCL (the CUDA backend with NCCL's
// headers, or the emulator, where a single-rank stand-in serves the NCCL calls). comm.cpp drives
// it: MPI carries NCCL's unique id and every deadline.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "comm.h"

namespace rnnlm::dist::nccl {

// libnccl found (loaded once) and its version; nothing is initialised.
LibraryInfo library_info();

// Polls `ready` until it returns true; ends the job when the collective's deadline passes.
using Wait = std::function<void(const std::function<bool()>& ready)>;

// Selects this local rank's GPU (local_rank modulo the visible devices) before the CUDA backend
// initialises, then joins the NCCL communicator. `share_id` copies rank 0's bytes to every rank.
void init(int rank, int size, int local_rank, const std::function<void(void*, size_t)>& share_id);

// The GPU the communicator runs on (after init).
int device();

// CUDA float32 tensors: sum over ranks, then * scale. Waits (through `wait`) until the GPU is done.
void all_reduce_sum(const std::vector<Tensor>& tensors, float scale, int64_t bucket_bytes, const Wait& wait);
// CUDA tensors of any dtype: root's bytes into every rank's.
void broadcast(const std::vector<Tensor>& tensors, int root, int64_t bucket_bytes, const Wait& wait);

// ncclCommDestroy and the bucket's memory; idempotent.
void shutdown();

}  // namespace rnnlm::dist::nccl
