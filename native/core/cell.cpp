// Cell names as the CLI, config.json and the bindings spell them.
#include "cell.h"

#include "error.h"

namespace rnnlm {

CellKind parse_cell_kind(const std::string& name) {
  if (name == "lstm") return CellKind::LSTM;
  if (name == "gru") return CellKind::GRU;
  // "rnn" is the CLI's spelling (--cell rnn); it means tanh, as nn.RNN's default nonlinearity.
  if (name == "rnn_tanh" || name == "rnn") return CellKind::RNN_TANH;
  if (name == "rnn_relu") return CellKind::RNN_RELU;
  fail(code::kArgument,
       "unknown cell kind '" + name + "' (expected lstm, gru, rnn, rnn_tanh or rnn_relu)");
}

const char* cell_kind_name(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM: return "lstm";
    case CellKind::GRU: return "gru";
    case CellKind::RNN_TANH: return "rnn_tanh";
    case CellKind::RNN_RELU: return "rnn_relu";
  }
  fail(code::kArgument, "unknown cell kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace rnnlm
