// The packed layout seen in walk order, for the CPU and CUDA scans alike. Step t holds packed
// rows [off_t, off_t + bs_t) with bs non-increasing; walk step s is time step t = s (forward)
// or T-1-s (reverse), so row b of walk step s takes its state from walk step s-1 when
// b < bs(s-1) and passes it on when b < bs(s+1).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rnnlm::cellmath {

struct PackedWalk {
  int64_t T = 0, B = 0, N = 0;  // time steps, batch (the first step's size), packed rows
  std::vector<int64_t> bs;      // batch size at walk step s (bs[T] = 0 sentinel)
  std::vector<int64_t> off;     // first packed row of walk step s

  PackedWalk(const std::vector<int32_t>& batch_sizes, bool reverse) {
    T = static_cast<int64_t>(batch_sizes.size());
    std::vector<int64_t> time_off(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      time_off[static_cast<size_t>(t)] = N;
      N += batch_sizes[static_cast<size_t>(t)];
    }
    bs.assign(static_cast<size_t>(T + 1), 0);
    off.assign(static_cast<size_t>(T), 0);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = reverse ? T - 1 - s : s;
      bs[static_cast<size_t>(s)] = batch_sizes[static_cast<size_t>(t)];
      off[static_cast<size_t>(s)] = time_off[static_cast<size_t>(t)];
    }
    B = T > 0 ? batch_sizes[0] : 0;
  }
  int64_t rows(int64_t s) const { return bs[static_cast<size_t>(s)]; }      // active rows of step s
  int64_t first(int64_t s) const { return off[static_cast<size_t>(s)]; }    // its first packed row
  int64_t prev_rows(int64_t s) const { return s == 0 ? 0 : rows(s - 1); }  // rows carried into s
};

}  // namespace rnnlm::cellmath
