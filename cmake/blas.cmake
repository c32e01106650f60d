# Chooses the CPU GEMM. A CBLAS (OpenBLAS preferred) is linked when found; the built-in
# cache-blocked kernel is always compiled so that a bare machine builds and so that tests can
# compare both paths in one binary (RNNLM_GEMM=builtin).
# RUNTIME (the default of a portable build) links none: native/cpu/blas_runtime.cpp finds one
# with dlopen when the addon runs, so a prebuilt binary loads on machines without a BLAS.
set(RNNLM_BLAS_FOUND OFF)
if(RNNLM_BLAS STREQUAL "AUTO" AND RNNLM_PORTABLE)
  set(RNNLM_BLAS "RUNTIME")
endif()
if(RNNLM_BLAS STREQUAL "RUNTIME")
  set(RNNLM_BLAS_FOUND ON)
  target_compile_definitions(rnnlm_engine PRIVATE RNNLM_BLAS_RUNTIME=1)
  target_link_libraries(rnnlm_engine PUBLIC ${CMAKE_DL_LIBS})
  message(STATUS "rnnlm: CPU GEMM uses a CBLAS found with dlopen at run time (else the built-in kernel)")
elseif(NOT RNNLM_BLAS STREQUAL "BUILTIN")
  find_path(RNNLM_CBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES openblas x86_64-linux-gnu/openblas-pthread)
  find_library(RNNLM_OPENBLAS_LIBRARY NAMES openblas)
  if(RNNLM_CBLAS_INCLUDE_DIR AND RNNLM_OPENBLAS_LIBRARY)
    set(RNNLM_BLAS_FOUND ON)
    target_include_directories(rnnlm_engine PRIVATE ${RNNLM_CBLAS_INCLUDE_DIR})
    target_link_libraries(rnnlm_engine PUBLIC ${RNNLM_OPENBLAS_LIBRARY})
    target_compile_definitions(rnnlm_engine PRIVATE RNNLM_HAVE_CBLAS=1 RNNLM_HAVE_OPENBLAS=1
                                                    RNNLM_BLAS_LINKED_PATH="${RNNLM_OPENBLAS_LIBRARY}")
    message(STATUS "rnnlm: CPU GEMM uses OpenBLAS (${RNNLM_OPENBLAS_LIBRARY}, cblas.h in ${RNNLM_CBLAS_INCLUDE_DIR})")
  elseif(RNNLM_BLAS STREQUAL "OPENBLAS")
    message(FATAL_ERROR "rnnlm: RNNLM_BLAS=OPENBLAS but no OpenBLAS with cblas.h was found (apt-get install libopenblas-dev)")
  endif()
endif()
if(NOT RNNLM_BLAS_FOUND)
  message(STATUS "rnnlm: CPU GEMM uses the built-in blocked kernel (no CBLAS linked)")
endif()
