// A fixed pool of worker threads for the CPU backend's element-wise and per-row work.
// Size: RNNLM_THREADS if set, else every core. When a threaded BLAS is linked it is given the
// same count; BLAS calls and pool work never run at the same time (the caller waits for each),
// so the two never oversubscribe the cores.
#pragma once
#include <cstdint>
#include <functional>

namespace rnnlm {

int num_threads();

// Runs body(begin, end) over [0, n) split into at most num_threads() contiguous chunks of at
// least `grain` items; returns when all are done. Runs inline when one chunk suffices.
// The first exception thrown by a chunk is rethrown in the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& body);

}  // namespace rnnlm
