// The cell kernels of cuda_cells.cuh: launches of the shared cell maths (ops/rnn/cell_math.h).
// Fused kernels give one thread to one (row, hidden unit) of a step and do the whole cell there;
// unfused steps are sequences of `map` kernels, each one element-wise op (plain arithmetic or
// one piece of the cell maths) over a (rows, width) block, in the CPU's unfused order.
#include "bias_fold.h"
#include "cell_math.h"
#include "workspace_layout.h"
#include "cuda_cells.cuh"
#include "cuda/context.cuh"

namespace rnnlm::cuda {

namespace {

namespace cm = cellmath;
using cm::ws_c;
using cm::ws_c_prev;
using cm::ws_h_prev;
using cm::ws_hn;

// CUDA's transcendental functions for the cell maths.
struct DeviceMath {
  RNNLM_HOST_DEVICE static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
  RNNLM_HOST_DEVICE static float tanh(float x) { return tanhf(x); }
};

__device__ __forceinline__ float at(const float* p, int64_t i) { return p != nullptr ? p[i] : 0.0f; }

// Rows the step does not compute: initial states of rows that start at the next step.
__device__ __forceinline__ void start_row(const StepForward& s, int64_t r, int64_t j, int64_t hp, int64_t cp) {
  float* next = s.next_ws + r * s.ld_ws;
  next[hp + j] = at(s.h0, r * s.hidden + j);
  if (cp >= 0) next[cp + j] = at(s.c0, r * s.hidden + j);
}

// ================================ fused forward ================================================

__global__ void lstm_forward_kernel(StepForward s) {
  const int64_t H = s.hidden;
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  RNNLM_GRID_LOOP(e, span * H) {
    const int64_t r = e / H, j = e - r * H;
    if (r >= s.rows) {
      start_row(s, r, j, ws_h_prev(CellKind::LSTM, H), ws_c_prev(H));
      continue;
    }
    float* w = s.ws + r * s.ld_ws;
    const float* g = s.gh + r * 4 * H;
    const cm::LstmStep<float> st = cm::lstm_forward<DeviceMath>(
        w[j] + g[j] + at(s.bias, j), w[H + j] + g[H + j] + at(s.bias, H + j),
        w[2 * H + j] + g[2 * H + j] + at(s.bias, 2 * H + j), w[3 * H + j] + g[3 * H + j] + at(s.bias, 3 * H + j),
        w[ws_c_prev(H) + j]);
    w[j] = st.i;
    w[H + j] = st.f;
    w[2 * H + j] = st.g;
    w[3 * H + j] = st.o;
    w[ws_c(H) + j] = st.c;
    s.y[e] = st.h;
    if (r < s.next_bs) {
      float* next = s.next_ws + r * s.ld_ws;
      next[ws_h_prev(CellKind::LSTM, H) + j] = st.h;
      next[ws_c_prev(H) + j] = st.c;
    } else {
      s.h_n[e] = st.h;
      s.c_n[e] = st.c;
    }
  }
}

__global__ void gru_forward_kernel(StepForward s) {
  const int64_t H = s.hidden;
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  RNNLM_GRID_LOOP(e, span * H) {
    const int64_t r = e / H, j = e - r * H;
    if (r >= s.rows) {
      start_row(s, r, j, ws_h_prev(CellKind::GRU, H), -1);
      continue;
    }
    float* w = s.ws + r * s.ld_ws;
    const float* g = s.gh + r * 3 * H;
    const float hn = g[2 * H + j] + at(s.bias_hn, j);
    const cm::GruStep<float> st =
        cm::gru_forward<DeviceMath>(w[j] + g[j] + at(s.bias, j), w[H + j] + g[H + j] + at(s.bias, H + j),
                                    w[2 * H + j] + at(s.bias, 2 * H + j), hn, w[ws_h_prev(CellKind::GRU, H) + j]);
    w[j] = st.r;
    w[H + j] = st.z;
    w[2 * H + j] = st.n;
    w[ws_hn(H) + j] = hn;
    s.y[e] = st.h;
    if (r < s.next_bs) {
      s.next_ws[r * s.ld_ws + ws_h_prev(CellKind::GRU, H) + j] = st.h;
    } else {
      s.h_n[e] = st.h;
    }
  }
}

__global__ void rnn_forward_kernel(StepForward s, int relu) {
  const int64_t H = s.hidden;
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  RNNLM_GRID_LOOP(e, span * H) {
    const int64_t r = e / H, j = e - r * H;
    if (r >= s.rows) {
      start_row(s, r, j, ws_h_prev(CellKind::RNN_TANH, H), -1);
      continue;
    }
    float* w = s.ws + r * s.ld_ws;
    const float h = cm::rnn_forward<DeviceMath>(w[j] + s.gh[r * H + j] + at(s.bias, j), relu != 0);
    w[j] = h;
    s.y[e] = h;
    if (r < s.next_bs) {
      s.next_ws[r * s.ld_ws + ws_h_prev(CellKind::RNN_TANH, H) + j] = h;
    } else {
      s.h_n[e] = h;
    }
  }
}

// ================================ fused backward ===============================================
// The gradient reaching h' (c') from later steps: dh (dc) for carried rows, else dh_n (dc_n).

__global__ void lstm_backward_kernel(StepBackward s) {
  const int64_t H = s.hidden;
  RNNLM_GRID_LOOP(e, s.rows * H) {
    const int64_t r = e / H, j = e - r * H;
    const bool carried = r < s.carried;
    const float dh_later = carried ? s.dh[e] : at(s.dh_n, e);
    const float dc_later = carried ? s.dc[e] : at(s.dc_n, e);
    const float* w = s.ws + r * s.ld_ws;
    const cm::LstmGrad<float> d = cm::lstm_backward<DeviceMath>(
        w[j], w[H + j], w[2 * H + j], w[3 * H + j], w[ws_c(H) + j], w[ws_c_prev(H) + j], s.dy[e] + dh_later, dc_later);
    float* dg = s.dgx + r * 4 * H;
    dg[j] = d.a_i;
    dg[H + j] = d.a_f;
    dg[2 * H + j] = d.a_g;
    dg[3 * H + j] = d.a_o;
    s.dc[e] = d.c_prev;
  }
}

__global__ void gru_backward_kernel(StepBackward s) {
  const int64_t H = s.hidden;
  RNNLM_GRID_LOOP(e, s.rows * H) {
    const int64_t r = e / H, j = e - r * H;
    const float dh_later = r < s.carried ? s.dh[e] : at(s.dh_n, e);
    const float* w = s.ws + r * s.ld_ws;
    const cm::GruGrad<float> d = cm::gru_backward(w[j], w[H + j], w[2 * H + j], w[ws_hn(H) + j],
                                                  w[ws_h_prev(CellKind::GRU, H) + j], s.dy[e] + dh_later);
    float* dx = s.dgx + r * 3 * H;
    float* dhh = s.dgh + r * 3 * H;
    dx[j] = d.a_r;
    dx[H + j] = d.a_z;
    dx[2 * H + j] = d.a_n;
    dhh[j] = d.a_r;
    dhh[H + j] = d.a_z;
    dhh[2 * H + j] = d.hn;
    s.dh[e] = d.h_prev;
  }
}

__global__ void rnn_backward_kernel(StepBackward s, int relu) {
  const int64_t H = s.hidden;
  RNNLM_GRID_LOOP(e, s.rows * H) {
    const int64_t r = e / H, j = e - r * H;
    const float dh = s.dy[e] + (r < s.carried ? s.dh[e] : at(s.dh_n, e));
    s.dgx[r * H + j] = cm::rnn_backward(s.ws[r * s.ld_ws + j], dh, relu != 0);
  }
}

// ================================ unfused ======================================================

// Plain arithmetic, and the cell maths' pieces (cell_math.h) as element-wise ops.
enum Op : int {
  kCopy, kAdd, kSub, kMul, kOneMinus, kSigmoidBack, kTanhBack, kReluBack,
  kLstmInputGate, kLstmForgetGate, kLstmCandidate, kLstmOutputGate, kLstmCellActivation,
  kGruResetGate, kGruUpdateGate, kGruNewGate, kRnnTanh, kRnnRelu
};

struct Plane {
  float* p;
  int64_t ld;  // row stride; 0 broadcasts one row (a bias) to every row
};

__device__ __forceinline__ float apply(int op, float a, float b) {
  switch (op) {
    case kCopy: return a;
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kOneMinus: return 1.0f - a;
    case kSigmoidBack: return cm::sigmoid_back(a, b);  // gradient a through the sigmoid whose value is b
    case kTanhBack: return cm::tanh_back(a, b);
    case kReluBack: return cm::relu_back(a, b);
    case kLstmInputGate: return cm::lstm_input_gate<DeviceMath>(a);
    case kLstmForgetGate: return cm::lstm_forget_gate<DeviceMath>(a);
    case kLstmCandidate: return cm::lstm_candidate<DeviceMath>(a);
    case kLstmOutputGate: return cm::lstm_output_gate<DeviceMath>(a);
    case kLstmCellActivation: return cm::lstm_cell_activation<DeviceMath>(a);
    case kGruResetGate: return cm::gru_reset_gate<DeviceMath>(a);
    case kGruUpdateGate: return cm::gru_update_gate<DeviceMath>(a);
    case kGruNewGate: return cm::gru_new_gate<DeviceMath>(a);
    case kRnnTanh: return cm::rnn_forward<DeviceMath>(a, false);
    case kRnnRelu: return cm::rnn_forward<DeviceMath>(a, true);
  }
  return 0.0f;
}

// out = op(a, b) over (rows, width); b may be absent for one-operand ops
__global__ void map_kernel(int op, int64_t rows, int64_t width, Plane out, Plane a, Plane b) {
  RNNLM_GRID_LOOP(e, rows * width) {
    const int64_t r = e / width, c = e - r * width;
    const float bv = b.p != nullptr ? b.p[r * b.ld + c] : 0.0f;
    out.p[r * out.ld + c] = apply(op, a.p[r * a.ld + c], bv);
  }
}

// The state moves of a forward step (see cuda_cells.cuh), for the unfused path.
__global__ void carry_kernel(StepForward s, int64_t hp, int64_t c_slot, int64_t cp) {
  const int64_t H = s.hidden;
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  RNNLM_GRID_LOOP(e, span * H) {
    const int64_t r = e / H, j = e - r * H;
    if (r >= s.rows) {
      start_row(s, r, j, hp, cp);
    } else if (r < s.next_bs) {
      float* next = s.next_ws + r * s.ld_ws;
      next[hp + j] = s.y[e];
      if (cp >= 0) next[cp + j] = s.ws[r * s.ld_ws + c_slot + j];
    } else {
      s.h_n[e] = s.y[e];
      if (cp >= 0) s.c_n[e] = s.ws[r * s.ld_ws + c_slot + j];
    }
  }
}

// Rows that end at this backward step take dh_n (dc_n) before the unfused ops read dh (dc).
__global__ void load_final_grads_kernel(StepBackward s, int lstm) {
  const int64_t H = s.hidden;
  RNNLM_GRID_LOOP(k, (s.rows - s.carried) * H) {
    const int64_t e = s.carried * H + k;
    s.dh[e] = at(s.dh_n, e);
    if (lstm) s.dc[e] = at(s.dc_n, e);
  }
}

__global__ void fold_biases_kernel(CellKind kind, int64_t H, int64_t gh, const float* b_ih, const float* b_hh,
                                   float* bias, float* bias_hn) {
  RNNLM_GRID_LOOP(j, gh) {
    bias[j] = cm::folded_bias(kind, H, j, b_ih, b_hh);
    if (kind == CellKind::GRU && j < H) bias_hn[j] = cm::folded_bias_hn(H, j, b_hh);
  }
}

// A block of `rows` x `width` for the unfused sequences, with its launch.
struct Unfused {
  int64_t rows;
  cudaStream_t stream;
  void map(int op, int64_t width, Plane out, Plane a, Plane b = Plane{nullptr, 0}) const {
    if (rows * width == 0) return;
    RNNLM_LAUNCH(map_kernel, blocks_for(rows * width), kThreads, stream, op, rows, width, out, a, b);
  }
};

Plane ws_plane(const StepForward& s, int64_t slot) { return Plane{s.ws + slot, s.ld_ws}; }
Plane scratch_plane(float* scratch, int64_t scratch_rows, int64_t h, int k) {
  return Plane{scratch + static_cast<int64_t>(k) * scratch_rows * h, h};
}

void carry(const StepForward& s, int64_t hp, int64_t c_slot, int64_t cp, cudaStream_t stream) {
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  if (span == 0) return;
  RNNLM_LAUNCH(carry_kernel, blocks_for(span * s.hidden), kThreads, stream, s, hp, c_slot, cp);
}

void lstm_forward_unfused(const StepForward& s, cudaStream_t stream) {
  const int64_t H = s.hidden;
  const Unfused u{s.rows, stream};
  const Plane gates = ws_plane(s, 0), gi = ws_plane(s, 0), gf = ws_plane(s, H), gg = ws_plane(s, 2 * H),
              go = ws_plane(s, 3 * H), c = ws_plane(s, ws_c(H)), cp = ws_plane(s, ws_c_prev(H)), y{s.y, H};
  const Plane t0 = scratch_plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = scratch_plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = scratch_plane(s.scratch, s.scratch_rows, H, 2);
  u.map(kAdd, 4 * H, gates, gates, Plane{const_cast<float*>(s.gh), 4 * H});
  if (s.bias != nullptr) u.map(kAdd, 4 * H, gates, gates, Plane{const_cast<float*>(s.bias), 0});
  u.map(kLstmInputGate, H, gi, gi);
  u.map(kLstmForgetGate, H, gf, gf);
  u.map(kLstmCandidate, H, gg, gg);
  u.map(kLstmOutputGate, H, go, go);
  u.map(kMul, H, t0, gf, cp);  // f * c_prev
  u.map(kMul, H, t1, gi, gg);  // i * g
  u.map(kAdd, H, c, t0, t1);   // c'
  u.map(kLstmCellActivation, H, t2, c);  // tanh(c')
  u.map(kMul, H, y, go, t2);             // h'
  carry(s, ws_h_prev(CellKind::LSTM, H), ws_c(H), ws_c_prev(H), stream);
}

void gru_forward_unfused(const StepForward& s, cudaStream_t stream) {
  const int64_t H = s.hidden;
  const Unfused u{s.rows, stream};
  const Plane gr = ws_plane(s, 0), gz = ws_plane(s, H), gn = ws_plane(s, 2 * H), hn = ws_plane(s, ws_hn(H)),
              hp = ws_plane(s, ws_h_prev(CellKind::GRU, H)), y{s.y, H};
  const Plane t0 = scratch_plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = scratch_plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = scratch_plane(s.scratch, s.scratch_rows, H, 2);
  u.map(kAdd, 2 * H, gr, gr, Plane{const_cast<float*>(s.gh), 3 * H});        // r, z: + W_h h
  u.map(kCopy, H, hn, Plane{const_cast<float*>(s.gh) + 2 * H, 3 * H});       // W_hn h
  if (s.bias != nullptr) {
    u.map(kAdd, 3 * H, gr, gr, Plane{const_cast<float*>(s.bias), 0});
    u.map(kAdd, H, hn, hn, Plane{const_cast<float*>(s.bias_hn), 0});
  }
  u.map(kGruResetGate, H, gr, gr);
  u.map(kGruUpdateGate, H, gz, gz);
  u.map(kMul, H, t0, gr, hn);     // r * hn
  u.map(kAdd, H, gn, gn, t0);
  u.map(kGruNewGate, H, gn, gn);  // n
  u.map(kOneMinus, H, t1, gz);
  u.map(kMul, H, t1, t1, gn);  // (1 - z) n
  u.map(kMul, H, t2, gz, hp);  // z h_prev
  u.map(kAdd, H, y, t1, t2);   // h'
  carry(s, ws_h_prev(CellKind::GRU, H), -1, -1, stream);
}

void rnn_forward_unfused(const StepForward& s, bool relu, cudaStream_t stream) {
  const int64_t H = s.hidden;
  const Unfused u{s.rows, stream};
  const Plane a = ws_plane(s, 0), y{s.y, H};
  u.map(kAdd, H, a, a, Plane{const_cast<float*>(s.gh), H});
  if (s.bias != nullptr) u.map(kAdd, H, a, a, Plane{const_cast<float*>(s.bias), 0});
  u.map(relu ? kRnnRelu : kRnnTanh, H, a, a);
  u.map(kCopy, H, y, a);
  carry(s, ws_h_prev(CellKind::RNN_TANH, H), -1, -1, stream);
}

void load_final_grads(const StepBackward& s, bool lstm, cudaStream_t stream) {
  if (s.rows <= s.carried) return;
  RNNLM_LAUNCH(load_final_grads_kernel, blocks_for((s.rows - s.carried) * s.hidden), kThreads, stream, s,
               lstm ? 1 : 0);
}

Plane cplane(const float* p, int64_t ld) { return Plane{const_cast<float*>(p), ld}; }

void lstm_backward_unfused(const StepBackward& s, cudaStream_t stream) {
  const int64_t H = s.hidden, L = s.ld_ws, D = 4 * H;
  const Unfused u{s.rows, stream};
  load_final_grads(s, true, stream);
  const Plane gi = cplane(s.ws, L), gf = cplane(s.ws + H, L), gg = cplane(s.ws + 2 * H, L),
              go = cplane(s.ws + 3 * H, L), c = cplane(s.ws + ws_c(H), L), cp = cplane(s.ws + ws_c_prev(H), L);
  const Plane dy = cplane(s.dy, H), dhl{s.dh, H}, dcl{s.dc, H};
  const Plane di{s.dgx, D}, df{s.dgx + H, D}, dg{s.dgx + 2 * H, D}, dout{s.dgx + 3 * H, D};
  const Plane dh = scratch_plane(s.scratch, s.scratch_rows, H, 0);
  const Plane tc = scratch_plane(s.scratch, s.scratch_rows, H, 1);
  const Plane dc = scratch_plane(s.scratch, s.scratch_rows, H, 2);
  u.map(kAdd, H, dh, dy, dhl);       // dh = dy + dh_later
  u.map(kLstmCellActivation, H, tc, c);  // tanh(c')
  u.map(kMul, H, dout, dh, tc);      // d o
  u.map(kMul, H, dc, dh, go);        // d tanh(c')
  u.map(kTanhBack, H, dc, dc, tc);   // through tanh
  u.map(kAdd, H, dc, dc, dcl);       // + dc_later
  u.map(kMul, H, di, dc, gg);        // d i
  u.map(kMul, H, dg, dc, gi);        // d g
  u.map(kMul, H, df, dc, cp);        // d f
  u.map(kMul, H, dcl, dc, gf);       // dc_prev
  u.map(kSigmoidBack, H, di, di, gi);
  u.map(kSigmoidBack, H, df, df, gf);
  u.map(kTanhBack, H, dg, dg, gg);
  u.map(kSigmoidBack, H, dout, dout, go);
}

void gru_backward_unfused(const StepBackward& s, cudaStream_t stream) {
  const int64_t H = s.hidden, L = s.ld_ws, D = 3 * H;
  const Unfused u{s.rows, stream};
  load_final_grads(s, false, stream);
  const Plane gr = cplane(s.ws, L), gz = cplane(s.ws + H, L), gn = cplane(s.ws + 2 * H, L),
              hn = cplane(s.ws + ws_hn(H), L), hp = cplane(s.ws + ws_h_prev(CellKind::GRU, H), L);
  const Plane dy = cplane(s.dy, H), dhl{s.dh, H};
  const Plane dxr{s.dgx, D}, dxz{s.dgx + H, D}, dxn{s.dgx + 2 * H, D};
  const Plane dhr{s.dgh, D}, dhz{s.dgh + H, D}, dhn{s.dgh + 2 * H, D};
  const Plane dh = scratch_plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = scratch_plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = scratch_plane(s.scratch, s.scratch_rows, H, 2);
  u.map(kAdd, H, dh, dy, dhl);         // dh
  u.map(kOneMinus, H, t1, gz);
  u.map(kMul, H, t1, dh, t1);          // dn = dh (1 - z)
  u.map(kSub, H, t2, hp, gn);
  u.map(kMul, H, t2, dh, t2);          // dz = dh (h_prev - n)
  u.map(kMul, H, dhl, dh, gz);         // direct dh_prev = dh z
  u.map(kTanhBack, H, dxn, t1, gn);    // da_n
  u.map(kMul, H, dxr, dxn, hn);        // dr
  u.map(kSigmoidBack, H, dxr, dxr, gr);  // da_r
  u.map(kSigmoidBack, H, dxz, t2, gz);   // da_z
  u.map(kCopy, H, dhr, dxr);
  u.map(kCopy, H, dhz, dxz);
  u.map(kMul, H, dhn, dxn, gr);        // recurrent side of n
}

void rnn_backward_unfused(const StepBackward& s, bool relu, cudaStream_t stream) {
  const int64_t H = s.hidden;
  const Unfused u{s.rows, stream};
  load_final_grads(s, false, stream);
  const Plane h = cplane(s.ws, s.ld_ws), dy = cplane(s.dy, H), dhl{s.dh, H}, da{s.dgx, H};
  const Plane dh = scratch_plane(s.scratch, s.scratch_rows, H, 0);
  u.map(kAdd, H, dh, dy, dhl);
  u.map(relu ? kReluBack : kTanhBack, H, da, dh, h);
}

}  // namespace

int unfused_planes(CellKind kind) { return kind == CellKind::LSTM || kind == CellKind::GRU ? 3 : 1; }

void step_forward(CellKind kind, bool fused, const StepForward& s, cudaStream_t stream) {
  if (!fused && s.rows > 0) {
    switch (kind) {
      case CellKind::LSTM: lstm_forward_unfused(s, stream); return;
      case CellKind::GRU: gru_forward_unfused(s, stream); return;
      case CellKind::RNN_TANH: rnn_forward_unfused(s, false, stream); return;
      case CellKind::RNN_RELU: rnn_forward_unfused(s, true, stream); return;
    }
  }
  const int64_t span = s.rows > s.next_bs ? s.rows : s.next_bs;
  if (span == 0) return;
  const unsigned int blocks = blocks_for(span * s.hidden);
  switch (kind) {
    case CellKind::LSTM: RNNLM_LAUNCH(lstm_forward_kernel, blocks, kThreads, stream, s); return;
    case CellKind::GRU: RNNLM_LAUNCH(gru_forward_kernel, blocks, kThreads, stream, s); return;
    case CellKind::RNN_TANH: RNNLM_LAUNCH(rnn_forward_kernel, blocks, kThreads, stream, s, 0); return;
    case CellKind::RNN_RELU: RNNLM_LAUNCH(rnn_forward_kernel, blocks, kThreads, stream, s, 1); return;
  }
  fail(code::kInternal, "cuda cells: unknown cell kind");
}

void step_backward(CellKind kind, bool fused, const StepBackward& s, cudaStream_t stream) {
  if (s.rows == 0) return;
  if (!fused) {
    switch (kind) {
      case CellKind::LSTM: lstm_backward_unfused(s, stream); return;
      case CellKind::GRU: gru_backward_unfused(s, stream); return;
      case CellKind::RNN_TANH: rnn_backward_unfused(s, false, stream); return;
      case CellKind::RNN_RELU: rnn_backward_unfused(s, true, stream); return;
    }
  }
  const unsigned int blocks = blocks_for(s.rows * s.hidden);
  switch (kind) {
    case CellKind::LSTM: RNNLM_LAUNCH(lstm_backward_kernel, blocks, kThreads, stream, s); return;
    case CellKind::GRU: RNNLM_LAUNCH(gru_backward_kernel, blocks, kThreads, stream, s); return;
    case CellKind::RNN_TANH: RNNLM_LAUNCH(rnn_backward_kernel, blocks, kThreads, stream, s, 0); return;
    case CellKind::RNN_RELU: RNNLM_LAUNCH(rnn_backward_kernel, blocks, kThreads, stream, s, 1); return;
  }
  fail(code::kInternal, "cuda cells: unknown cell kind");
}

void fold_biases(CellKind kind, int64_t hidden, const float* b_ih, const float* b_hh, float* bias, float* bias_hn,
                 cudaStream_t stream) {
  const int64_t gh = gate_count(kind) * hidden;
  RNNLM_LAUNCH(fold_biases_kernel, blocks_for(gh), kThreads, stream, kind, hidden, gh, b_ih, b_hh, bias, bias_hn);
}

}  // namespace rnnlm::cuda
