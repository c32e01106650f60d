// Argument checks of recurrent layers (private to the engine), shared by rnn_op.cpp (one
// layer over a packed batch) and ops/decode/decode_op.cpp (a stack of layers run step by step). Tensors
// must be F32 and on the device of `ref` (named `ref_name` in messages); `prefix` goes before
// every argument name ("layers[1]." for a stack).
#pragma once
#include <string>
#include <vector>

#include "core/backend.h"

namespace rnnlm::check {

void cell_kind(CellKind cell, const char* op);

// A PackedSequence's batch_sizes: non-empty, positive and non-increasing. Returns N, their sum.
int64_t packed_batch_sizes(const std::vector<int32_t>& batch_sizes, const char* op);

// w_hh (G*H, H) -> H (> 0); only its rank and H are checked here, its shape by layer_weights.
int64_t hidden_size(const Tensor& w_hh, const Tensor& ref, const char* ref_name, const char* op,
                    const std::string& prefix);

// w_ih (G*H, In), w_hh (G*H, H), b_ih and b_hh (G*H) given together or both omitted.
void layer_weights(const LayerWeights& w, CellKind cell, int64_t in, int64_t h, const Tensor& ref,
                   const char* ref_name, const char* op, const std::string& prefix);

// An initial or final state (B, H), or undefined; a cell state (c0, dc_n) only for LSTM.
void layer_state(const Tensor& s, bool cell_state, CellKind cell, int64_t b, int64_t h,
                 const Tensor& ref, const char* ref_name, const char* op, const std::string& name);

}  // namespace rnnlm::check
