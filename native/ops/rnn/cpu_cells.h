// Pointwise recurrent-cell kernels for one time step, forward and backward, on raw pointers.
//
// The scan (cpu_scan.cpp) hands each kernel the active rows of one step and a range [j0, j1) of
// hidden units, so that one thread can run the recurrent GEMM for the gate columns of its hidden
// units and then this kernel on the same columns with no barrier in between.
//
// Every cell comes in two forms computing the same maths:
//   fused:   one pass over the gates of the active rows (the fast path),
//   unfused: separate element-wise passes (add, sigmoid, tanh, mul, ...), each its own loop over
//            memory with preallocated scratch planes, like a framework composing small ops; kept
//            for `rnnlm bench --mode unfused` and as a reference.
// Both call the same per-element functions and differ only in how they are launched.
//
// The workspace row layout is ops/rnn/workspace_layout.h. Before the forward kernel runs,
// the gate slots hold W_ih x + W_hh h_prev without biases (GRU: the n slot holds W_in x, the
// W_hn h slot holds W_hn h_prev); the kernel adds the biases and overwrites them with what
// backward needs. The cell maths itself (both forms call it) is ops/rnn/cell_math.h.
#pragma once
#include <cstdint>

#include "workspace_layout.h"
#include "core/cell.h"
#include "cpu/isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: compiled once per CPU kernel variant
namespace cells {

using cellmath::ws_c;
using cellmath::ws_c_prev;
using cellmath::ws_h_prev;
using cellmath::ws_hn;

// Forward of one step over rows [0, rows), hidden units [j0, j1).
struct StepForward {
  int64_t rows = 0, hidden = 0, j0 = 0, j1 = 0;
  float* ws = nullptr;             // (rows, W) workspace rows of this step, row stride ld_ws
  int64_t ld_ws = 0;
  const float* bias = nullptr;     // (G*H) gate biases: LSTM / RNN b_ih + b_hh;
                                   // GRU b_ir + b_hr, b_iz + b_hz, b_in (zeros without bias)
  const float* bias_hn = nullptr;  // GRU (H): b_hn
  float* y = nullptr;              // (rows, H) outputs h', row stride ld_y
  int64_t ld_y = 0;
  float* next_ws = nullptr;        // workspace rows of the next step (stride ld_ws): rows
  int64_t next_rows = 0;           //   [0, next_rows) get h' (and c') in their h_prev (c_prev) slots
  float* scratch = nullptr;        // unfused: unfused_planes() planes of (scratch_rows, H)
  int64_t scratch_rows = 0;
};

// Backward of one step over rows [0, rows), hidden units [j0, j1).
struct StepBackward {
  int64_t rows = 0, hidden = 0, j0 = 0, j1 = 0;
  const float* ws = nullptr;  // (rows, W) this step's workspace rows, stride ld_ws
  int64_t ld_ws = 0;
  const float* dy = nullptr;  // (rows, H) gradient of the step's outputs, stride ld_dy
  int64_t ld_dy = 0;
  float* dh = nullptr;        // (rows, H), stride H. In: gradient reaching h' through later steps
                              // (or dh_n). Out, GRU only: dh * z, the part of dh_prev that
                              // bypasses W_hh (LSTM / RNN leave it for the GEMM to overwrite).
  float* dc = nullptr;        // LSTM (rows, H), stride H. In: dc'. Out: dc_prev = dc * f.
  float* dgx = nullptr;       // (rows, G*H) gradients of the input-side gate pre-activations
  int64_t ld_dgx = 0;
  float* dgh = nullptr;       // GRU (rows, 3H): recurrent side (the n block times r); else unused
  int64_t ld_dgh = 0;
  double* db_x = nullptr;     // (G*H) += column sums of dgx over the rows
  double* db_h = nullptr;     // GRU (G*H) += column sums of dgh
  float* scratch = nullptr;   // unfused: unfused_planes() planes of (scratch_rows, H)
  int64_t scratch_rows = 0;
};

// Scratch planes of (rows, H) floats an unfused step needs (the larger of forward and backward).
int unfused_planes(CellKind kind);

void lstm_forward(const StepForward& s);
void lstm_backward(const StepBackward& s);
void lstm_forward_unfused(const StepForward& s);
void lstm_backward_unfused(const StepBackward& s);

void gru_forward(const StepForward& s);
void gru_backward(const StepBackward& s);
void gru_forward_unfused(const StepForward& s);
void gru_backward_unfused(const StepBackward& s);

void rnn_forward(const StepForward& s, bool relu);
void rnn_backward(const StepBackward& s, bool relu);
void rnn_forward_unfused(const StepForward& s, bool relu);
void rnn_backward_unfused(const StepBackward& s, bool relu);

// Dispatch on the cell kind and form.
void step_forward(CellKind kind, bool fused, const StepForward& s);
void step_backward(CellKind kind, bool fused, const StepBackward& s);

}  // namespace cells
}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
