// The biases as the cells consume them, one element at a time (the CPU loops over it, the CUDA
// kernel gives it one thread per element):
//   bias (G*H):  LSTM / RNN b_ih + b_hh; GRU r and z summed, n only b_in (b_hn multiplies r);
//   bias_hn (H): GRU's b_hn, added to W_hn h before r scales it.
#pragma once
#include <cstdint>

#include "core/cell.h"
#include "core/host_device.h"

namespace rnnlm::cellmath {

// Gates whose two biases are summed: all but GRU's n.
RNNLM_HOST_DEVICE int64_t summed_bias_floats(CellKind kind, int64_t h) {
  return kind == CellKind::GRU ? 2 * h : (kind == CellKind::LSTM ? 4 : 1) * h;
}

// Element j of the folded gate bias, j in [0, G*H).
RNNLM_HOST_DEVICE float folded_bias(CellKind kind, int64_t h, int64_t j, const float* b_ih,
                                    const float* b_hh) {
  return j < summed_bias_floats(kind, h) ? b_ih[j] + b_hh[j] : b_ih[j];
}

// Element j of GRU's b_hn, j in [0, H).
RNNLM_HOST_DEVICE float folded_bias_hn(int64_t h, int64_t j, const float* b_hh) {
  return b_hh[2 * h + j];
}

}  // namespace rnnlm::cellmath
