// Pointwise recurrent-cell kernels for one time step of the packed scan (cuda_scan.cu), fused (one
// kernel per step) and unfused (a separate kernel per element-wise op, as a framework composing
// small ops would run; kept for `rnnlm bench --mode unfused`). Both call the cell maths the
// CPU backend calls (ops/rnn/cell_math.h) on the same workspace layout
// (ops/rnn/workspace_layout.h), so the two backends' workspaces can be compared entry by
// entry.
// Unlike the CPU, the recurrent projection of the step arrives in a separate (rows, G*H) buffer
// `gh` (one cuBLAS call with beta = 0 for every cell; the kernel adds it to the input projection
// already in the gate slots), as in haste and cuDNN.
//
// Each forward step also moves state along the packed layout, so no other kernel is needed per
// step. With next_bs = the batch size of the next walk step (0 after the last):
//   rows r < min(rows, next_bs): h' (c') go to the next step's h_prev (c_prev) slots;
//   rows next_bs <= r < rows:    the sequence ends here: h' (c') go to h_n (c_n) row r;
//   rows rows <= r < next_bs:    (reverse walks, where the batch grows) the sequence starts at the
//                                next step: h0 (c0) row r, or zeros, go to its slots.
// Called with rows = 0 and next_ws = the first step's rows, a forward kernel only does the last
// part: that is how the first step's initial states are written.
#pragma once
#include <cstdint>

#include "workspace_layout.h"
#include "core/cell.h"
#include "cuda/api.cuh"

namespace rnnlm::cuda {

struct StepForward {
  int64_t rows = 0, next_bs = 0, hidden = 0;
  float* ws = nullptr;             // this step's workspace rows (rows, W), row stride ld_ws
  int64_t ld_ws = 0;
  const float* gh = nullptr;       // (rows, G*H) h_prev W_hh^T
  const float* bias = nullptr;     // (G*H) folded gate biases (see fold_biases) or null (none)
  const float* bias_hn = nullptr;  // GRU (H): b_hn, or null
  float* y = nullptr;              // (rows, H) outputs
  float* next_ws = nullptr;        // the next step's workspace rows, stride ld_ws (or null)
  const float* h0 = nullptr;       // (B, H) initial states, or null for zeros
  const float* c0 = nullptr;
  float* h_n = nullptr;            // (B, H) final states
  float* c_n = nullptr;
  float* scratch = nullptr;        // unfused: planes of (B, H)
  int64_t scratch_rows = 0;        // B
};

struct StepBackward {
  int64_t rows = 0, carried = 0, hidden = 0;
  const float* ws = nullptr;  // this step's workspace rows, stride ld_ws
  int64_t ld_ws = 0;
  const float* dy = nullptr;  // (rows, H) gradient of this step's outputs
  float* dh = nullptr;        // (B, H): rows < carried hold the gradient reaching h' from later steps;
                              //   GRU leaves dh * z there (the part of dh_prev that bypasses W_hh)
  float* dc = nullptr;        // LSTM (B, H): in dc' from later steps, out dc_prev
  const float* dh_n = nullptr;  // (B, H) or null: rows carried <= r < rows end here and take these
  const float* dc_n = nullptr;
  float* dgx = nullptr;       // (rows, G*H) gradients of the input-side pre-activations
  float* dgh = nullptr;       // GRU (rows, G*H): the recurrent side (n block times r)
  float* scratch = nullptr;   // unfused: planes of (B, H)
  int64_t scratch_rows = 0;
};

// Scratch planes of (B, H) floats an unfused step needs.
int unfused_planes(CellKind kind);

using cellmath::ws_h_prev;

void step_forward(CellKind kind, bool fused, const StepForward& s, cudaStream_t stream);
void step_backward(CellKind kind, bool fused, const StepBackward& s, cudaStream_t stream);

// bias (G*H): LSTM / RNN b_ih + b_hh; GRU r, z summed and n = b_in; bias_hn (H) = GRU's b_hn.
void fold_biases(CellKind kind, int64_t hidden, const float* b_ih, const float* b_hh, float* bias, float* bias_hn,
                 cudaStream_t stream);

}  // namespace rnnlm::cuda
