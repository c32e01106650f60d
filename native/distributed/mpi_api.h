// Open MPI as the engine uses it: the entry points and predefined handles, taken from libmpi with
// dlsym at run time (the addon does not link libmpi, so it loads where MPI is not installed).
//
// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are addresses of objects
// libmpi exports (ompi_mpi_comm_world, ...); the mpi.h macros that name them would make the addon
// depend on libmpi at load time, so code here never uses them and reads the handles from MpiApi.
// This is Open MPI's ABI only: MPICH's handles are integers with other values, and it is refused.
// Included only in builds with RNNLM_HAVE_MPI (mpi.h found at build time).
#pragma once
// mpi.h's C++ bindings (mpicxx.h) define inline functions that call libmpi_cxx: leave them out.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <string>

#if !defined(OPEN_MPI)
#error "rnnlm's MPI support is built against Open MPI's mpi.h only (MPICH is not supported); configure with -DRNNLM_MPI=OFF"
#endif

namespace rnnlm::dist {

struct MpiApi {
  decltype(&MPI_Init_thread) init_thread = nullptr;
  decltype(&MPI_Initialized) initialized = nullptr;
  decltype(&MPI_Finalized) finalized = nullptr;
  decltype(&MPI_Finalize) finalize = nullptr;
  decltype(&MPI_Abort) abort = nullptr;
  decltype(&MPI_Get_library_version) library_version = nullptr;
  decltype(&MPI_Error_string) error_string = nullptr;
  decltype(&MPI_Comm_rank) comm_rank = nullptr;
  decltype(&MPI_Comm_size) comm_size = nullptr;
  decltype(&MPI_Comm_dup) comm_dup = nullptr;
  decltype(&MPI_Comm_split_type) comm_split_type = nullptr;
  decltype(&MPI_Comm_free) comm_free = nullptr;
  decltype(&MPI_Comm_set_errhandler) comm_set_errhandler = nullptr;
  decltype(&MPI_Isend) isend = nullptr;
  decltype(&MPI_Irecv) irecv = nullptr;
  decltype(&MPI_Test) test = nullptr;
  decltype(&MPI_Iallreduce) iallreduce = nullptr;
  decltype(&MPI_Ibcast) ibcast = nullptr;

  MPI_Comm world = nullptr;
  MPI_Datatype f32 = nullptr;
  MPI_Datatype f64 = nullptr;
  MPI_Datatype byte = nullptr;
  MPI_Op sum = nullptr;
  MPI_Errhandler errors_return = nullptr;
  MPI_Info info_null = nullptr;

  std::string library;  // the file it was loaded from
  std::string version;  // "Open MPI v4.1.4"
};

// libmpi, loaded once: $RNNLM_MPI_LIBRARY, the library found at build time, libmpi.so.40,
// libmpi.so. Null with `reason` set when none loads or it is not Open MPI.
const MpiApi* mpi_api(std::string* reason);

}  // namespace rnnlm::dist
