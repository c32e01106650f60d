// Full reductions of float tensors, accumulated in double, without a host round trip: each block
// of a first kernel writes one partial sum, then one block adds the partials in order. The grid
// size depends only on the element count, so results are reproducible run to run.
#pragma once
#include <cstdint>

#include "api.cuh"

namespace rnnlm::cuda {

// Partial sums of x[i] (or x[i]^2) over [0, n): writes partials_for(n) doubles at `partials`.
unsigned int partials_for(int64_t n);
void partial_sums(const float* x, int64_t n, bool square, double* partials, cudaStream_t stream);
// out[0] = (float) sum(partials[0, count)), or its square root.
void finish_sum(const double* partials, int64_t count, bool take_sqrt, float* out, cudaStream_t stream);

// Column sums of a row-major (rows, cols) matrix with row stride ld, in double, written as floats.
void column_sums(const float* x, int64_t rows, int64_t cols, int64_t ld, float* out, cudaStream_t stream);

}  // namespace rnnlm::cuda
