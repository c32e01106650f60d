// Autoregressive decoding (validated, like ops.h): a stack of unidirectional recurrent layers
// run step by step inside one call, embedding -> layers -> output projection -> pick, where each
// step reads the previous step's pick (argmax or a temperature draw) or, with teacher forcing
// below 1, the true token. decode_pick is the pick of one step.
//
// Decoding is composed here from backend ops (embedding, one-step recurrent layers, linear,
// decode_pick), so every backend that has those has it. Its results are laid out exactly as
// the teacher-forced path's: the one-step layers' outputs and workspaces, concatenated, are
// what rnn_layer_forward over the whole packed batch would have produced (see the workspace
// contract of rnn_layer_forward in backend_ops.def), so the backward is rnn_layer_backward per
// layer, with the ids that were fed treated as constants.
#pragma once
#include <vector>

#include "core/ops.h"

namespace rnnlm::ops {

// See decode_pick in backend_ops.def.
void decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio, float temperature,
                 uint64_t seed, uint64_t offset, int64_t index_base, Tensor& predicted,
                 Tensor& chosen);

struct DecodeSpec {
  CellKind cell = CellKind::GRU;
  bool fused = true;
  // The packed layout (PyTorch PackedSequence: time-major, non-increasing), host memory.
  std::vector<int32_t> batch_sizes;
  // Probability that a row at step t >= 1 reads the true token (inputs) rather than its own
  // pick of the step before. Step 0 always reads inputs.
  float teacher_ratio = 0.0f;
  // 0: predictions are argmax; > 0: draws from softmax(logits / temperature).
  float temperature = 0.0f;
  // Philox stream of the teacher choices and the draws (see Backend::decode_pick).
  uint64_t seed = 0, offset = 0;
  // >= 0: stop after the first step by which every sequence has predicted this id (or ended);
  // the results then cover only the steps that ran.
  int32_t stop_id = -1;
};

struct DecodeWeights {
  Tensor embedding;                  // (V, E)
  std::vector<LayerWeights> layers;  // L stacked unidirectional layers (PyTorch shapes)
  Tensor out_w;                      // (V, H): the output projection onto the same vocabulary
  Tensor out_b;                      // (V) or undefined
};

struct DecodeForward {
  std::vector<int32_t> batch_sizes;  // the steps that ran: spec.batch_sizes or a prefix of it
  Tensor inputs;                     // (N) int32: the id every packed row read
  Tensor predicted;                  // (N) int32: the model's pick at every packed row
  Tensor x;                          // (N, E) the first layer's input (embedding times mask)
  Tensor logits;                     // (N, V)
  std::vector<LayerForward> layers;  // per layer, as rnn_layer_forward over the packed batch
};

struct DecodeGradients {
  Tensor d_embedding;                   // (V, E)
  std::vector<LayerGradients> layers;   // per layer (dh0, dc0 are the initial states' gradients)
  Tensor d_out_w;                       // (V, H)
  Tensor d_out_b;                       // (V) or undefined
};

// inputs (N) int32 ids (step 0's rows are always read; later rows with teacher_ratio);
// h0, c0: one (B, H) per layer in packed order, or empty / undefined entries for zeros
// (c0 LSTM only); input_mask (N, E) multiplies the embedded inputs (embedding dropout) or is
// undefined.
DecodeForward autoregressive_decode_forward(const DecodeSpec& spec, const Tensor& inputs,
                                           const DecodeWeights& weights,
                                           const std::vector<Tensor>& h0,
                                           const std::vector<Tensor>& c0,
                                           const Tensor& input_mask);

// dlogits (N, V) for the forward's N rows -> the gradients of every weight and initial state.
DecodeGradients autoregressive_decode_backward(const DecodeSpec& spec, const DecodeWeights& weights,
                                               const std::vector<Tensor>& h0,
                                               const std::vector<Tensor>& c0,
                                               const Tensor& input_mask,
                                               const DecodeForward& forward,
                                               const Tensor& dlogits);

}  // namespace rnnlm::ops
