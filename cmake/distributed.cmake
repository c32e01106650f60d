# Data-parallel communication (native/distributed): Open MPI for CPU ranks and to start the job,
# NCCL for CUDA tensors. Optional like CUDA: each is AUTO (built when its header is found), ON
# (required: fails with the reason) or OFF. `rnnlm info` reports what was built and found.
#
# Neither library is linked: the addon loads libmpi and libnccl with dlopen when a job starts
# (RNNLM_MPI_LIBRARY / RNNLM_NCCL_LIBRARY override; the libraries found here are tried first), so
# one addon still loads on machines without MPI or NCCL. Only the headers are needed here.
#
# Where things are looked for:
#   mpi.h   RNNLM_MPI_ROOT/include, `mpicc --showme:incdirs`, the usual Open MPI directories.
#           Open MPI only: its predefined handles are exported objects the engine reads with
#           dlsym (MPICH's ABI differs and is refused here).
#   nccl.h  RNNLM_NCCL_ROOT/include, the pip wheel nvidia-nccl-cu13 (python3's site-packages,
#           nvidia/nccl/include), the CUDA toolkit; only with the CUDA backend. The emulator build
#           (RNNLM_CUDA_EMULATION) serves the NCCL calls with a single-rank stand-in instead.
set(RNNLM_MPI "AUTO" CACHE STRING "MPI support for data-parallel training: AUTO (when Open MPI's mpi.h is found), ON, OFF")
set_property(CACHE RNNLM_MPI PROPERTY STRINGS AUTO ON OFF)
set(RNNLM_NCCL "AUTO" CACHE STRING "NCCL support for data-parallel training on GPUs: AUTO (when nccl.h is found and the CUDA backend is built), ON, OFF")
set_property(CACHE RNNLM_NCCL PROPERTY STRINGS AUTO ON OFF)

set(RNNLM_DIST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/native/distributed)
target_sources(rnnlm_engine PRIVATE ${RNNLM_DIST_DIR}/comm.cpp ${RNNLM_DIST_DIR}/mpi_api.cpp)
target_link_libraries(rnnlm_engine PUBLIC ${CMAKE_DL_LIBS})

# --- MPI ----------------------------------------------------------------------------------------
set(RNNLM_MPI_ENABLED OFF)
set(RNNLM_MPI_REASON "disabled by RNNLM_MPI=OFF")
if(NOT RNNLM_MPI STREQUAL "OFF")
  set(RNNLM_MPI_INCLUDE_HINTS "")
  set(RNNLM_MPI_LIBRARY_HINTS "")
  if(RNNLM_MPI_ROOT)
    list(APPEND RNNLM_MPI_INCLUDE_HINTS ${RNNLM_MPI_ROOT}/include)
    list(APPEND RNNLM_MPI_LIBRARY_HINTS ${RNNLM_MPI_ROOT}/lib ${RNNLM_MPI_ROOT}/lib64)
  endif()
  find_program(RNNLM_MPICC mpicc HINTS ENV MPI_HOME PATH_SUFFIXES bin)
  if(RNNLM_MPICC)
    execute_process(COMMAND ${RNNLM_MPICC} --showme:incdirs OUTPUT_VARIABLE mpi_incdirs
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND ${RNNLM_MPICC} --showme:libdirs OUTPUT_VARIABLE mpi_libdirs
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    separate_arguments(mpi_incdirs)
    separate_arguments(mpi_libdirs)
    list(APPEND RNNLM_MPI_INCLUDE_HINTS ${mpi_incdirs})
    list(APPEND RNNLM_MPI_LIBRARY_HINTS ${mpi_libdirs})
  endif()
  find_path(RNNLM_MPI_INCLUDE_DIR NAMES mpi.h HINTS ${RNNLM_MPI_INCLUDE_HINTS}
            PATHS /usr/lib/x86_64-linux-gnu/openmpi/include /usr/lib/aarch64-linux-gnu/openmpi/include
                  /usr/include/openmpi /usr/lib64/openmpi/include /opt/openmpi/include /usr/local/include
            NO_DEFAULT_PATH)
  find_library(RNNLM_MPI_LIBRARY NAMES mpi HINTS ${RNNLM_MPI_LIBRARY_HINTS}
               PATHS /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64/openmpi/lib /opt/openmpi/lib)
  if(NOT RNNLM_MPI_INCLUDE_DIR)
    set(RNNLM_MPI_REASON "the Open MPI header mpi.h was not found: install libopenmpi-dev or set RNNLM_MPI_ROOT")
  else()
    file(STRINGS ${RNNLM_MPI_INCLUDE_DIR}/mpi.h rnnlm_open_mpi REGEX "^#define OPEN_MPI ")
    if(NOT rnnlm_open_mpi)
      set(RNNLM_MPI_REASON "${RNNLM_MPI_INCLUDE_DIR}/mpi.h is not from Open MPI: only Open MPI is supported, not MPICH")
    else()
      set(RNNLM_MPI_ENABLED ON)
    endif()
  endif()
  if(RNNLM_MPI STREQUAL "ON" AND NOT RNNLM_MPI_ENABLED)
    message(FATAL_ERROR "rnnlm: RNNLM_MPI=ON but MPI support cannot be built: ${RNNLM_MPI_REASON}")
  endif()
endif()
if(RNNLM_MPI_ENABLED)
  # Headers only, for comm.cpp and mpi_api.cpp (the types and constants); libmpi is never linked.
  set_property(SOURCE ${RNNLM_DIST_DIR}/comm.cpp ${RNNLM_DIST_DIR}/mpi_api.cpp APPEND PROPERTY INCLUDE_DIRECTORIES ${RNNLM_MPI_INCLUDE_DIR})
  set_property(SOURCE ${RNNLM_DIST_DIR}/comm.cpp ${RNNLM_DIST_DIR}/mpi_api.cpp APPEND PROPERTY COMPILE_DEFINITIONS RNNLM_HAVE_MPI=1)
  if(RNNLM_MPI_LIBRARY)
    set_property(SOURCE ${RNNLM_DIST_DIR}/mpi_api.cpp APPEND PROPERTY COMPILE_DEFINITIONS "RNNLM_MPI_BUILD_LIBRARY=\"${RNNLM_MPI_LIBRARY}\"")
  endif()
  message(STATUS "rnnlm: MPI support enabled (Open MPI headers ${RNNLM_MPI_INCLUDE_DIR}, libmpi loaded at run time)")
else()
  set_property(SOURCE ${RNNLM_DIST_DIR}/comm.cpp APPEND PROPERTY COMPILE_DEFINITIONS "RNNLM_MPI_REASON=\"${RNNLM_MPI_REASON}\"")
  message(STATUS "rnnlm: MPI support not built (${RNNLM_MPI_REASON})")
endif()

# --- NCCL ---------------------------------------------------------------------------------------
set(RNNLM_NCCL_ENABLED OFF)
set(RNNLM_NCCL_REASON "disabled by RNNLM_NCCL=OFF")
if(NOT RNNLM_NCCL STREQUAL "OFF")
  if(NOT RNNLM_MPI_ENABLED)
    set(RNNLM_NCCL_REASON "the NCCL unique id travels over MPI, and MPI support is not built")
  elseif(RNNLM_CUDA_EMULATION)
    set(RNNLM_NCCL_ENABLED ON)
  elseif(NOT RNNLM_CUDA_ENABLED)
    set(RNNLM_NCCL_REASON "the CUDA backend is not built")
  else()
    set(RNNLM_NCCL_INCLUDE_HINTS "")
    set(RNNLM_NCCL_LIBRARY_HINTS "")
    if(RNNLM_NCCL_ROOT)
      list(APPEND RNNLM_NCCL_INCLUDE_HINTS ${RNNLM_NCCL_ROOT}/include)
      list(APPEND RNNLM_NCCL_LIBRARY_HINTS ${RNNLM_NCCL_ROOT}/lib ${RNNLM_NCCL_ROOT}/lib64)
    endif()
    # cmake/cuda.cmake listed python3's site-packages (for the cuBLAS wheel).
    foreach(site ${RNNLM_PYTHON_SITES})
      list(APPEND RNNLM_NCCL_INCLUDE_HINTS ${site}/nvidia/nccl/include)
      list(APPEND RNNLM_NCCL_LIBRARY_HINTS ${site}/nvidia/nccl/lib)
    endforeach()
    if(CUDAToolkit_FOUND)
      list(APPEND RNNLM_NCCL_INCLUDE_HINTS ${CUDAToolkit_INCLUDE_DIRS})
      list(APPEND RNNLM_NCCL_LIBRARY_HINTS ${CUDAToolkit_LIBRARY_DIR})
    endif()
    find_path(RNNLM_NCCL_INCLUDE_DIR NAMES nccl.h HINTS ${RNNLM_NCCL_INCLUDE_HINTS})
    find_library(RNNLM_NCCL_LIBRARY NAMES nccl libnccl.so.2 HINTS ${RNNLM_NCCL_LIBRARY_HINTS})
    if(RNNLM_NCCL_INCLUDE_DIR)
      set(RNNLM_NCCL_ENABLED ON)
    else()
      set(RNNLM_NCCL_REASON "nccl.h was not found: pip install nvidia-nccl-cu13, or set RNNLM_NCCL_ROOT")
    endif()
  endif()
  if(RNNLM_NCCL STREQUAL "ON" AND NOT RNNLM_NCCL_ENABLED)
    message(FATAL_ERROR "rnnlm: RNNLM_NCCL=ON but NCCL support cannot be built: ${RNNLM_NCCL_REASON}")
  endif()
endif()
if(RNNLM_NCCL_ENABLED)
  set(nccl_source ${RNNLM_DIST_DIR}/nccl_comm.cu)
  if(RNNLM_CUDA_EMULATION)
    # Compiled by the host compiler against the emulator, like the backend's .cu files
    # (cmake/cuda_emulation.cmake); nccl_emu.cpp is the stand-in for libnccl.
    set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu/nccl_comm.cu.cpp)
    file(CONFIGURE OUTPUT ${wrapper}
         CONTENT "// Generated by cmake/distributed.cmake: nccl_comm.cu built for the CUDA emulator.\n#include \"${nccl_source}\"\n"
         @ONLY)
    set(nccl_source ${wrapper})
    target_sources(rnnlm_engine PRIVATE ${RNNLM_DIST_DIR}/nccl_emu.cpp)
    message(STATUS "rnnlm: NCCL support enabled (the emulator's single-rank stand-in)")
  else()
    set_property(SOURCE ${nccl_source} APPEND PROPERTY INCLUDE_DIRECTORIES ${RNNLM_NCCL_INCLUDE_DIR})
    if(RNNLM_NCCL_LIBRARY)
      set_property(SOURCE ${nccl_source} APPEND PROPERTY COMPILE_DEFINITIONS "RNNLM_NCCL_BUILD_LIBRARY=\"${RNNLM_NCCL_LIBRARY}\"")
    endif()
    message(STATUS "rnnlm: NCCL support enabled (headers ${RNNLM_NCCL_INCLUDE_DIR}, libnccl loaded at run time)")
  endif()
  target_sources(rnnlm_engine PRIVATE ${nccl_source})
  set_property(SOURCE ${RNNLM_DIST_DIR}/comm.cpp APPEND PROPERTY COMPILE_DEFINITIONS RNNLM_HAVE_NCCL=1)
else()
  set_property(SOURCE ${RNNLM_DIST_DIR}/comm.cpp APPEND PROPERTY COMPILE_DEFINITIONS "RNNLM_NCCL_REASON=\"${RNNLM_NCCL_REASON}\"")
  message(STATUS "rnnlm: NCCL support not built (${RNNLM_NCCL_REASON})")
endif()
