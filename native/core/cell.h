// Recurrent cell kinds and their PyTorch gate layouts.
#pragma once
#include <cstdint>
#include <string>

namespace rnnlm {

// LSTM gates i, f, g, o: c' = f*c + i*g, h' = o*tanh(c')
// GRU gates r, z, n:     n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h
// RNN:                   h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu
enum class CellKind : uint8_t { LSTM = 0, GRU = 1, RNN_TANH = 2, RNN_RELU = 3 };

inline int gate_count(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM: return 4;
    case CellKind::GRU: return 3;
    default: return 1;
  }
}

inline bool has_cell_state(CellKind kind) { return kind == CellKind::LSTM; }

// Floats of workspace per packed row that a layer's forward keeps for its backward.
//   LSTM: gates i,f,g,o after activation (4H), c' (H), h_prev (H), c_prev (H)  -> 7H
//   GRU:  r, z, n after activation (3H), W_hn h + b_hn (H), h_prev (H)        -> 5H
//   RNN:  h' (H), h_prev (H)                                                   -> 2H
inline int64_t workspace_floats_per_row(CellKind kind, int64_t hidden) {
  switch (kind) {
    case CellKind::LSTM: return 7 * hidden;
    case CellKind::GRU: return 5 * hidden;
    default: return 2 * hidden;
  }
}

CellKind parse_cell_kind(const std::string& name);  // "lstm" | "gru" | "rnn_tanh" | "rnn_relu"
const char* cell_kind_name(CellKind kind);

}  // namespace rnnlm
