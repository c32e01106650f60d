# CPU kernel variants (native/cpu/isa.h). Included before the engine library is declared: it may
# take the variant sources out of RNNLM_CPU_SOURCES / RNNLM_OP_SOURCES and returns the sources
# to compile in their place as RNNLM_ISA_TARGET_SOURCES.
#
# Default build: the variant sources compile as they are, once, for -march=native (isa_native).
# RNNLM_PORTABLE=ON: everything compiles for x86-64-v2, and each variant source is compiled
# three times through a generated wrapper (cmake/isa_wrapper.cpp.in): x86-64-v2, AVX2 + FMA
# and AVX-512, each in its own namespace; native/cpu/isa_dispatch.cpp picks one at run time.
# The list is what measurably gains from wider vectors (rnnlm bench and perf: the built-in GEMM's
# micro-kernel, the recurrent GEMM and the fused cell loops of the RNN scan; the softmax's exp
# loop and the optimizer steps, 3-4x slower at x86-64-v2 on word-medium); the rest of the CPU
# backend is memory-bound or calls BLAS / libm, which choose their own kernels.
set(RNNLM_ISA_VARIANT_SOURCES
    ${CMAKE_CURRENT_SOURCE_DIR}/native/cpu/gemm_builtin.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/cpu/isa_kernels.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/rnn/cpu_cells.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/rnn/cpu_recurrent_gemm.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/rnn/cpu_scan.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/layers/cpu_softmax_nll.cpp
    ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/optim/cpu_optim.cpp)
set(RNNLM_ISA_TARGET_SOURCES "")

if(RNNLM_PORTABLE)
  if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|amd64" OR MSVC)
    message(FATAL_ERROR "rnnlm: RNNLM_PORTABLE builds x86-64 kernel variants with GCC or Clang")
  endif()
  list(REMOVE_ITEM RNNLM_CPU_SOURCES ${RNNLM_ISA_VARIANT_SOURCES})
  list(REMOVE_ITEM RNNLM_OP_SOURCES ${RNNLM_ISA_VARIANT_SOURCES})
  # name;namespace;vector width;#pragma GCC target list (empty: the baseline itself)
  set(RNNLM_ISA_VARIANTS
      "x86-64-v2|isa_v2|128|"
      "avx2|isa_v3|256|avx,avx2,fma"
      "avx512|isa_v4|512|avx,avx2,fma,avx512f,avx512bw,avx512dq,avx512vl,avx512cd")
  foreach(variant ${RNNLM_ISA_VARIANTS})
    string(REPLACE "|" ";" fields "${variant}")
    list(GET fields 0 RNNLM_ISA_NAME)
    list(GET fields 1 RNNLM_ISA_NS)
    list(GET fields 2 RNNLM_ISA_WIDTH)
    list(LENGTH fields field_count)
    set(RNNLM_ISA_PUSH "")
    set(RNNLM_ISA_POP "")
    if(field_count GREATER 3)
      list(GET fields 3 target_list)
      if(NOT target_list STREQUAL "")
        set(RNNLM_ISA_PUSH "#pragma GCC push_options\n#pragma GCC target(\"${target_list}\")")
        set(RNNLM_ISA_POP "#pragma GCC pop_options")
      endif()
    endif()
    foreach(RNNLM_ISA_SOURCE ${RNNLM_ISA_VARIANT_SOURCES})
      get_filename_component(source_name ${RNNLM_ISA_SOURCE} NAME_WE)
      set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/isa/${RNNLM_ISA_NS}_${source_name}.cpp)
      configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/isa_wrapper.cpp.in ${wrapper} @ONLY)
      list(APPEND RNNLM_ISA_TARGET_SOURCES ${wrapper})
    endforeach()
  endforeach()
  message(STATUS "rnnlm: portable build: x86-64-v2 baseline, CPU kernels for x86-64-v2 / AVX2 / AVX-512 picked at run time")
endif()

# After add_library(rnnlm_engine ...): the definitions the dispatcher and the wrappers need.
function(rnnlm_isa_configure target)
  if(RNNLM_PORTABLE)
    target_compile_definitions(${target} PRIVATE RNNLM_PORTABLE_ISA=1)
    # The wrappers include the variant sources by absolute path; their own includes are relative
    # to those sources' folders, which GCC searches first for a quoted include.
  endif()
endfunction()
