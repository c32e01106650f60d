// RNNLM_HOST_DEVICE marks a function that the CPU backend, the CUDA kernels and the tests all
// call: `__host__ __device__` under nvcc, plain `inline` for the host compiler (which is also
// how the CUDA emulator, native/emu/cuda_emu.h, compiles the .cu files: qualifiers vanish).
#pragma once

#if defined(__CUDACC__)
#define RNNLM_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define RNNLM_HOST_DEVICE inline
#endif
