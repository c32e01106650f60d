# The CUDA backend seam. AUTO builds it when nvcc, cuBLAS and the backend sources (native/cuda)
# are all present; ON requires them and fails with the reason; OFF skips detection. The result is
# compiled into the addon as RNNLM_HAVE_CUDA, and `rnnlm info` reports it at run time.
#
# One binary serves machines with and without a GPU: the CUDA runtime is linked statically (it
# loads the driver only when asked, so the addon loads where there is none) and cuBLAS is loaded
# with dlopen on first use of the device, so neither is a load-time dependency of the addon. The
# cuBLAS library CMake finds here is remembered as the first place to look at run time.
#
# Where things are looked for:
#   nvcc    CMAKE_CUDA_COMPILER, $CUDACXX, PATH, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin
#   cuBLAS  RNNLM_CUBLAS_ROOT (a directory with include/ and lib/), the CUDA toolkit, and the pip
#           wheel nvidia-cublas in python3's site-packages (nvidia/cu13, nvidia/cublas)
# Architectures: RNNLM_CUDA_ARCHITECTURES (a CMake CUDA_ARCHITECTURES list, e.g. "80" or
# "native"), by default 75;80;86;89;90 (sm_75 to sm_90, with PTX for sm_90 so newer GPUs JIT it),
# plus 70 when nvcc is older than 13 (CUDA 13 no longer compiles for Volta).
set(RNNLM_CUDA_ENABLED OFF)
set(RNNLM_CUDA_REASON "disabled by RNNLM_CUDA=OFF")
if(NOT RNNLM_CUDA STREQUAL "OFF")
  file(GLOB RNNLM_CUDA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/*.cu
       ${CMAKE_CURRENT_SOURCE_DIR}/native/ops/*/*.cu)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
    find_program(RNNLM_NVCC nvcc HINTS ENV CUDA_HOME ENV CUDA_PATH PATH_SUFFIXES bin
                 PATHS /usr/local/cuda/bin /opt/cuda/bin)
    if(RNNLM_NVCC)
      set(CMAKE_CUDA_COMPILER ${RNNLM_NVCC})
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    get_filename_component(RNNLM_NVCC_DIR ${CMAKE_CUDA_COMPILER} DIRECTORY)
    find_package(CUDAToolkit QUIET)
    # pip's nvidia-cublas wheel: <site-packages>/nvidia/cu13/{include,lib} (older wheels:
    # nvidia/cublas/{include,lib}).
    set(RNNLM_PYTHON_SITES "")
    find_program(RNNLM_PYTHON NAMES python3 python)
    if(RNNLM_PYTHON)
      execute_process(
        COMMAND ${RNNLM_PYTHON} -c "import site, sys; print(';'.join(site.getsitepackages() + [site.getusersitepackages()] + sys.path))"
        OUTPUT_VARIABLE RNNLM_PYTHON_SITES OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    endif()
    set(RNNLM_CUBLAS_INCLUDE_HINTS "")
    set(RNNLM_CUBLAS_LIBRARY_HINTS "")
    if(RNNLM_CUBLAS_ROOT)
      list(APPEND RNNLM_CUBLAS_INCLUDE_HINTS ${RNNLM_CUBLAS_ROOT}/include)
      list(APPEND RNNLM_CUBLAS_LIBRARY_HINTS ${RNNLM_CUBLAS_ROOT}/lib ${RNNLM_CUBLAS_ROOT}/lib64)
    endif()
    if(CUDAToolkit_FOUND)
      list(APPEND RNNLM_CUBLAS_INCLUDE_HINTS ${CUDAToolkit_INCLUDE_DIRS})
      list(APPEND RNNLM_CUBLAS_LIBRARY_HINTS ${CUDAToolkit_LIBRARY_DIR})
    endif()
    foreach(site ${RNNLM_PYTHON_SITES})
      if(IS_DIRECTORY ${site}/nvidia)
        foreach(wheel cu13 cu12 cublas)
          list(APPEND RNNLM_CUBLAS_INCLUDE_HINTS ${site}/nvidia/${wheel}/include)
          list(APPEND RNNLM_CUBLAS_LIBRARY_HINTS ${site}/nvidia/${wheel}/lib)
        endforeach()
      endif()
    endforeach()
    find_path(RNNLM_CUBLAS_INCLUDE_DIR NAMES cublas_v2.h HINTS ${RNNLM_CUBLAS_INCLUDE_HINTS})
    find_library(RNNLM_CUBLAS_LIBRARY NAMES cublas libcublas.so.13 libcublas.so.12 cublas64_13 cublas64_12
                 HINTS ${RNNLM_CUBLAS_LIBRARY_HINTS})
  endif()
  if(NOT CMAKE_CUDA_COMPILER)
    set(RNNLM_CUDA_REASON "nvcc was not found (put it on PATH or set CUDACXX)")
  elseif(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cudart_static)
    set(RNNLM_CUDA_REASON "the CUDA toolkit next to ${CMAKE_CUDA_COMPILER} has no static CUDA runtime")
  elseif(NOT RNNLM_CUBLAS_INCLUDE_DIR OR NOT RNNLM_CUBLAS_LIBRARY)
    set(RNNLM_CUDA_REASON "cuBLAS was not found (pip install nvidia-cublas, or set RNNLM_CUBLAS_ROOT)")
  elseif(NOT RNNLM_CUDA_SOURCES)
    set(RNNLM_CUDA_REASON "this source tree has no CUDA backend (native/cuda is empty)")
  else()
    set(RNNLM_CUDA_ENABLED ON)
  endif()
  if(RNNLM_CUDA STREQUAL "ON" AND NOT RNNLM_CUDA_ENABLED)
    message(FATAL_ERROR "rnnlm: RNNLM_CUDA=ON but the CUDA backend cannot be built: ${RNNLM_CUDA_REASON}")
  endif()
endif()
if(RNNLM_CUDA_ENABLED)
  enable_language(CUDA)
  if(RNNLM_CUDA_ARCHITECTURES)
    set(RNNLM_CUDA_ARCHS ${RNNLM_CUDA_ARCHITECTURES})
  elseif(CMAKE_CUDA_COMPILER_VERSION VERSION_LESS 13.0)
    set(RNNLM_CUDA_ARCHS 70-real 75-real 80-real 86-real 89-real 90)
  else()
    set(RNNLM_CUDA_ARCHS 75-real 80-real 86-real 89-real 90)
  endif()
  target_sources(rnnlm_engine PRIVATE ${RNNLM_CUDA_SOURCES})
  set_target_properties(rnnlm_engine PROPERTIES CUDA_ARCHITECTURES "${RNNLM_CUDA_ARCHS}" CUDA_STANDARD 17
                                                CUDA_STANDARD_REQUIRED ON)
  target_include_directories(rnnlm_engine PRIVATE ${RNNLM_CUBLAS_INCLUDE_DIR})
  # The GPU runs the same float maths as the CPU: no fast-math intrinsics, no flush to zero.
  target_compile_options(rnnlm_engine PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-fno-math-errno>)
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/native/cuda/context.cu PROPERTIES
                              COMPILE_DEFINITIONS "RNNLM_CUBLAS_BUILD_LIBRARY=\"${RNNLM_CUBLAS_LIBRARY}\"")
  target_link_libraries(rnnlm_engine PUBLIC CUDA::cudart_static ${CMAKE_DL_LIBS})
  target_compile_definitions(rnnlm_engine PUBLIC RNNLM_HAVE_CUDA=1)
  message(STATUS "rnnlm: CUDA backend enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${RNNLM_CUDA_ARCHS}, cuBLAS ${RNNLM_CUBLAS_LIBRARY} loaded at run time)")
else()
  message(STATUS "rnnlm: CUDA backend not built (${RNNLM_CUDA_REASON})")
endif()
