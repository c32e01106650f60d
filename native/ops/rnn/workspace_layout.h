// The workspace row a recurrent layer's forward keeps for its backward, one row per packed row,
// shared by the CPU scan, the CUDA kernels and the tests (W = workspace_floats_per_row, cell.h).
// Offsets in units of H:
//   LSTM (7H): i f g o (post-activation) | c' | h_prev | c_prev
//   GRU  (5H): r z n (post-activation)   | W_hn h + b_hn | h_prev
//   RNN  (2H): h'                        | h_prev
// Before a forward step's cell runs, gate slot g holds (part of) gate g's pre-activation; the
// cell overwrites it with what the backward needs (the activation).
#pragma once
#include <cstdint>

#include "core/cell.h"
#include "core/host_device.h"

namespace rnnlm::cellmath {

RNNLM_HOST_DEVICE int64_t ws_gate(int gate, int64_t h) { return gate * h; }  // gate g's slot
RNNLM_HOST_DEVICE int64_t ws_c(int64_t h) { return 4 * h; }                   // LSTM c'
RNNLM_HOST_DEVICE int64_t ws_c_prev(int64_t h) { return 6 * h; }              // LSTM c_prev
RNNLM_HOST_DEVICE int64_t ws_hn(int64_t h) { return 3 * h; }                  // GRU W_hn h + b_hn
RNNLM_HOST_DEVICE int64_t ws_h_prev(CellKind kind, int64_t h) {
  return kind == CellKind::LSTM ? 5 * h : kind == CellKind::GRU ? 4 * h : h;
}

}  // namespace rnnlm::cellmath
