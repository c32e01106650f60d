// Argument checks of rnn_layer_forward / rnn_layer_backward: they run before the backend is
// reached, so every case here throws without touching the scan.
#include "tests/test_harness.h"

using namespace rnnlm;
using test::random_tensor;

namespace {

LayerSpec spec_of(CellKind cell, std::vector<int32_t> bs) {
  LayerSpec s;
  s.cell = cell;
  s.batch_sizes = std::move(bs);
  return s;
}

LayerWeights weights_of(int64_t g, int64_t h, int64_t in, bool bias = true) {
  LayerWeights w;
  w.w_ih = random_tensor({g * h, in});
  w.w_hh = random_tensor({g * h, h});
  if (bias) {
    w.b_ih = random_tensor({g * h});
    w.b_hh = random_tensor({g * h});
  }
  return w;
}

void test_forward_checks() {
  const int64_t h = 8, in = 5;
  const LayerSpec lstm = spec_of(CellKind::LSTM, {3, 2, 2, 1});  // N = 8, B = 3
  const LayerWeights w = weights_of(4, h, in);
  Tensor x = random_tensor({8, in});

  EXPECT_ERROR(code::kArgument, "rnn_layer_forward: batch_sizes is empty",
               [&] { ops::rnn_layer_forward(spec_of(CellKind::LSTM, {}), x, w, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kArgument, "batch_sizes[1] = 0 must be positive",
               [&] { ops::rnn_layer_forward(spec_of(CellKind::LSTM, {8, 0}), x, w, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kArgument, "batch_sizes must be non-increasing, got batch_sizes[0] = 3 then batch_sizes[1] = 5",
               [&] { ops::rnn_layer_forward(spec_of(CellKind::LSTM, {3, 5}), x, w, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: x must be (N, In) with N = sum(batch_sizes) = 9, got (8, 5)",
               [&] { ops::rnn_layer_forward(spec_of(CellKind::LSTM, {3, 3, 3}), x, w, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kDType, "rnn_layer_forward: x must be f32",
               [&] { ops::rnn_layer_forward(lstm, test::int_tensor(std::vector<int32_t>(40, 0), {8, 5}), w, Tensor(), Tensor()); });

  // A GRU's weights given to an LSTM layer: the gate count is wrong.
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: w_hh must be (G*H, H) with G = 4 for lstm, H = 8, got (24, 8)",
               [&] { ops::rnn_layer_forward(lstm, x, weights_of(3, h, in), Tensor(), Tensor()); });
  LayerWeights bad_ih = w;
  bad_ih.w_ih = random_tensor({32, in + 1});
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: w_ih must be (G*H, In) with G = 4 for lstm, H = 8, In = 5, got (32, 6)",
               [&] { ops::rnn_layer_forward(lstm, x, bad_ih, Tensor(), Tensor()); });
  LayerWeights one_bias = w;
  one_bias.b_hh = Tensor();
  EXPECT_ERROR(code::kArgument, "b_ih and b_hh must be given together",
               [&] { ops::rnn_layer_forward(lstm, x, one_bias, Tensor(), Tensor()); });
  LayerWeights bad_bias = w;
  bad_bias.b_hh = random_tensor({31});
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: b_hh must be (G*H) with G = 4 for lstm, H = 8, got (31)",
               [&] { ops::rnn_layer_forward(lstm, x, bad_bias, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: h0 must be (B, H) with B = batch_sizes[0] = 3, H = 8, got (2, 8)",
               [&] { ops::rnn_layer_forward(lstm, x, w, random_tensor({2, h}), Tensor()); });
  EXPECT_ERROR(code::kShape, "rnn_layer_forward: c0 must be (B, H)",
               [&] { ops::rnn_layer_forward(lstm, x, w, Tensor(), random_tensor({3, h + 1})); });
  EXPECT_ERROR(code::kArgument, "rnn_layer_forward: c0 is only for lstm, the cell is gru", [&] {
    ops::rnn_layer_forward(spec_of(CellKind::GRU, {3, 2, 2, 1}), x, weights_of(3, h, in), Tensor(),
                           random_tensor({3, h}));
  });
  EXPECT_ERROR(code::kShape, "G = 1 for rnn_relu", [&] {
    ops::rnn_layer_forward(spec_of(CellKind::RNN_RELU, {3, 2, 2, 1}), x, weights_of(4, h, in), Tensor(), Tensor());
  });
}

void test_backward_checks() {
  const int64_t h = 4, in = 3;
  const LayerSpec gru = spec_of(CellKind::GRU, {2, 1});  // N = 3, B = 2
  const LayerWeights w = weights_of(3, h, in, false);
  Tensor x = random_tensor({3, in});
  LayerForward f;
  f.y = random_tensor({3, h});
  f.h_n = random_tensor({2, h});
  f.workspace = random_tensor({3, workspace_floats_per_row(CellKind::GRU, h)});
  Tensor dy = random_tensor({3, h});

  LayerForward bad_ws = f;
  bad_ws.workspace = random_tensor({3, 7 * h});
  EXPECT_ERROR(code::kShape, "rnn_layer_backward: forward.workspace must be (N, W) with N = 3, W = 20 for gru, got (3, 28)",
               [&] { ops::rnn_layer_backward(gru, x, w, Tensor(), Tensor(), bad_ws, dy, Tensor(), Tensor()); });
  EXPECT_ERROR(code::kShape, "rnn_layer_backward: dy must be (N, H) with N = 3, H = 4, got (3, 5)", [&] {
    ops::rnn_layer_backward(gru, x, w, Tensor(), Tensor(), f, random_tensor({3, 5}), Tensor(), Tensor());
  });
  EXPECT_ERROR(code::kShape, "rnn_layer_backward: dh_n must be (B, H) with B = 2, H = 4, got (3, 4)", [&] {
    ops::rnn_layer_backward(gru, x, w, Tensor(), Tensor(), f, dy, random_tensor({3, h}), Tensor());
  });
  EXPECT_ERROR(code::kArgument, "rnn_layer_backward: dc_n is only for lstm", [&] {
    ops::rnn_layer_backward(gru, x, w, Tensor(), Tensor(), f, dy, Tensor(), random_tensor({2, h}));
  });
  EXPECT_ERROR(code::kArgument, "rnn_layer_backward: dy is required",
               [&] { ops::rnn_layer_backward(gru, x, w, Tensor(), Tensor(), f, Tensor(), Tensor(), Tensor()); });

  const LayerSpec lstm = spec_of(CellKind::LSTM, {2, 1});
  LayerForward lf;
  lf.y = random_tensor({3, h});
  lf.h_n = random_tensor({2, h});
  lf.workspace = random_tensor({3, 7 * h});
  EXPECT_ERROR(code::kArgument, "rnn_layer_backward: forward.c_n is required", [&] {
    ops::rnn_layer_backward(lstm, x, weights_of(4, h, in), Tensor(), Tensor(), lf, dy, Tensor(), Tensor());
  });
}

}  // namespace

int main() {
  test_forward_checks();
  test_backward_checks();
  return test::finish("test_rnn_checks");
}
