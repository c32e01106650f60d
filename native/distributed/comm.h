// Data-parallel communication for the engine: the job's ranks (started by Open MPI's mpirun), and
// the collectives a training step needs, with a deadline on every one of them. Plain C++: no MPI,
// NCCL or Node headers, so the bindings and the trainers' glue include it in every build.
//
// CPU tensors travel through MPI, CUDA tensors through NCCL (whose unique id travels over MPI).
// Neither library is linked: both are loaded at run time (dlopen), so one addon still loads on
// machines without them, and only `init` under mpirun needs them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace rnnlm::code {
inline constexpr const char* kDistributed = "ERR_RNNLM_DISTRIBUTED";  // MPI / NCCL unavailable or failed
}  // namespace rnnlm::code

namespace rnnlm::dist {

// What was built and found, for `rnnlm info`.
struct LibraryInfo {
  bool compiled = false;   // support built into this addon
  bool available = false;  // the library was found and loads
  std::string library;     // the file it was loaded from
  std::string version;     // MPI_Get_library_version / ncclGetVersion
  std::string reason;      // why it cannot be used ("" when it can)
};
LibraryInfo mpi_info();
LibraryInfo nccl_info();

struct Options {
  bool cuda = false;                         // join NCCL too (one GPU per local rank)
  int64_t timeout_ms = 120000;               // deadline of every collective
  int64_t bucket_bytes = 25 * 1024 * 1024;   // all-reduce / broadcast packing
};

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // among the ranks on this machine
  int local_size = 1;
  bool nccl = false;
};

// MPI_Init_thread and the communicators (idempotent: later calls return the same world and
// ignore their options). Throws ERR_RNNLM_DISTRIBUTED when MPI (or NCCL, for cuda) is unusable.
World init(const Options& options);
bool initialized();

// Every collective checks that every rank arrived within the deadline (rank 0 collects tiny
// "arrived at collective #k" messages); a rank that does not arrive, or a collective that does
// not finish, ends the whole job with one line naming the rank (MPI_Abort). Every rank must make
// the same calls in the same order with tensors of the same shapes (checked at arrival).

// tensors += the other ranks' tensors, then *= scale. float32, all on one device.
void all_reduce_sum(const std::vector<Tensor>& tensors, float scale);
// Element-wise sums of host numbers, in float64.
std::vector<double> all_reduce_numbers(const std::vector<double>& values);
// Root's tensors copied into every rank's tensors (any dtype), in place.
void broadcast(const std::vector<Tensor>& tensors, int root);
// Root's bytes on every rank (the other ranks' `value` is ignored).
std::string broadcast_bytes(const std::string& value, int root);
void barrier();
// Prints "rnnlm: <message>" on stderr and ends every rank of the job (MPI_Abort).
[[noreturn]] void abort_job(const std::string& message);
// A last guarded barrier, then NCCL's and MPI's shutdown; idempotent.
void finalize();

}  // namespace rnnlm::dist
