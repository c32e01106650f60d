// Validated public API, part 3: one recurrent layer over a packed batch. The checks tie every
// tensor to the sizes the packed layout implies: N = sum(batch_sizes), B = batch_sizes[0],
// H from w_hh, G from the cell.
#include "check.h"
#include "ops.h"

namespace rnnlm::ops {

namespace {

std::string num(int64_t v) { return std::to_string(v); }

struct LayerDims {
  int64_t n = 0, b = 0, in = 0, h = 0, g = 0;
};

LayerDims check_layer(const char* op, const LayerSpec& spec, const Tensor& x,
                      const LayerWeights& w, const Tensor& h0, const Tensor& c0) {
  LayerDims d;
  RNNLM_CHECK(spec.cell == CellKind::LSTM || spec.cell == CellKind::GRU ||
                  spec.cell == CellKind::RNN_TANH || spec.cell == CellKind::RNN_RELU,
              code::kArgument, std::string(op) + ": unknown cell kind " + num(static_cast<int>(spec.cell)));
  const char* cell = cell_kind_name(spec.cell);
  d.g = gate_count(spec.cell);

  // batch_sizes: a PackedSequence's, so non-empty, positive and non-increasing.
  const std::vector<int32_t>& bs = spec.batch_sizes;
  RNNLM_CHECK(!bs.empty(), code::kArgument, std::string(op) + ": batch_sizes is empty");
  for (size_t t = 0; t < bs.size(); ++t) {
    RNNLM_CHECK(bs[t] > 0, code::kArgument,
                std::string(op) + ": batch_sizes[" + num(static_cast<int64_t>(t)) + "] = " +
                    num(bs[t]) + " must be positive");
    RNNLM_CHECK(t == 0 || bs[t] <= bs[t - 1], code::kArgument,
                std::string(op) + ": batch_sizes must be non-increasing, got batch_sizes[" +
                    num(static_cast<int64_t>(t) - 1) + "] = " + num(bs[t - 1]) + " then batch_sizes[" +
                    num(static_cast<int64_t>(t)) + "] = " + num(bs[t]));
    d.n += bs[t];
  }
  d.b = bs[0];

  check::dtype(x, DType::F32, op, "x");
  check::rank(x, 2, op, "x", "(N, In)");
  RNNLM_CHECK(x.dim(0) == d.n, code::kShape,
              std::string(op) + ": x must be (N, In) with N = sum(batch_sizes) = " + num(d.n) +
                  ", got " + shape_str(x.shape()));
  d.in = x.dim(1);

  check::dtype(w.w_hh, DType::F32, op, "w_hh");
  check::same_device(w.w_hh, x, op, "w_hh", "x");
  check::rank(w.w_hh, 2, op, "w_hh", "(G*H, H)");
  d.h = w.w_hh.dim(1);
  RNNLM_CHECK(d.h > 0, code::kShape,
              std::string(op) + ": w_hh must be (G*H, H) with H > 0, got " + shape_str(w.w_hh.shape()));
  const std::string gates = "G = " + num(d.g) + " for " + cell + ", H = " + num(d.h);
  check::shape(w.w_hh, {d.g * d.h, d.h}, op, "w_hh", "(G*H, H)", gates);

  check::dtype(w.w_ih, DType::F32, op, "w_ih");
  check::same_device(w.w_ih, x, op, "w_ih", "x");
  check::shape(w.w_ih, {d.g * d.h, d.in}, op, "w_ih", "(G*H, In)", gates + ", In = " + num(d.in));

  // nn.LSTM(bias=False) drops both biases; one without the other has no PyTorch counterpart.
  RNNLM_CHECK(w.b_ih.defined() == w.b_hh.defined(), code::kArgument,
              std::string(op) + ": b_ih and b_hh must be given together or both omitted");
  if (w.b_ih.defined()) {
    check::dtype(w.b_ih, DType::F32, op, "b_ih");
    check::dtype(w.b_hh, DType::F32, op, "b_hh");
    check::same_device(w.b_ih, x, op, "b_ih", "x");
    check::same_device(w.b_hh, x, op, "b_hh", "x");
    check::shape(w.b_ih, {d.g * d.h}, op, "b_ih", "(G*H)", gates);
    check::shape(w.b_hh, {d.g * d.h}, op, "b_hh", "(G*H)", gates);
  }

  const std::string state = "B = batch_sizes[0] = " + num(d.b) + ", H = " + num(d.h);
  if (h0.defined()) {
    check::dtype(h0, DType::F32, op, "h0");
    check::same_device(h0, x, op, "h0", "x");
    check::shape(h0, {d.b, d.h}, op, "h0", "(B, H)", state);
  }
  if (c0.defined()) {
    RNNLM_CHECK(has_cell_state(spec.cell), code::kArgument,
                std::string(op) + ": c0 is only for lstm, the cell is " + cell);
    check::dtype(c0, DType::F32, op, "c0");
    check::same_device(c0, x, op, "c0", "x");
    check::shape(c0, {d.b, d.h}, op, "c0", "(B, H)", state);
  }
  return d;
}

}  // namespace

LayerForward rnn_layer_forward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights,
                               const Tensor& h0, const Tensor& c0) {
  check_layer("rnn_layer_forward", spec, x, weights, h0, c0);
  return backend_for(x.device()).rnn_layer_forward(spec, x, weights, h0, c0);
}

LayerGradients rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                  const LayerWeights& weights, const Tensor& h0, const Tensor& c0,
                                  const LayerForward& forward, const Tensor& dy,
                                  const Tensor& dh_n, const Tensor& dc_n) {
  const char* op = "rnn_layer_backward";
  const LayerDims d = check_layer(op, spec, x, weights, h0, c0);
  const bool lstm = has_cell_state(spec.cell);
  const std::string rows = "N = " + num(d.n) + ", H = " + num(d.h);
  const std::string state = "B = " + num(d.b) + ", H = " + num(d.h);

  // The forward results must be this layer's, for this batch.
  check::dtype(forward.y, DType::F32, op, "forward.y");
  check::same_device(forward.y, x, op, "forward.y", "x");
  check::shape(forward.y, {d.n, d.h}, op, "forward.y", "(N, H)", rows);
  check::dtype(forward.workspace, DType::F32, op, "forward.workspace");
  check::same_device(forward.workspace, x, op, "forward.workspace", "x");
  const int64_t ws = workspace_floats_per_row(spec.cell, d.h);
  check::shape(forward.workspace, {d.n, ws}, op, "forward.workspace", "(N, W)",
               "N = " + num(d.n) + ", W = " + num(ws) + " for " + cell_kind_name(spec.cell));
  check::dtype(forward.h_n, DType::F32, op, "forward.h_n");
  check::same_device(forward.h_n, x, op, "forward.h_n", "x");
  check::shape(forward.h_n, {d.b, d.h}, op, "forward.h_n", "(B, H)", state);
  if (lstm) {
    check::dtype(forward.c_n, DType::F32, op, "forward.c_n");
    check::same_device(forward.c_n, x, op, "forward.c_n", "x");
    check::shape(forward.c_n, {d.b, d.h}, op, "forward.c_n", "(B, H)", state);
  }

  check::dtype(dy, DType::F32, op, "dy");
  check::same_device(dy, x, op, "dy", "x");
  check::shape(dy, {d.n, d.h}, op, "dy", "(N, H)", rows);
  if (dh_n.defined()) {
    check::dtype(dh_n, DType::F32, op, "dh_n");
    check::same_device(dh_n, x, op, "dh_n", "x");
    check::shape(dh_n, {d.b, d.h}, op, "dh_n", "(B, H)", state);
  }
  if (dc_n.defined()) {
    RNNLM_CHECK(lstm, code::kArgument,
                std::string(op) + ": dc_n is only for lstm, the cell is " + cell_kind_name(spec.cell));
    check::dtype(dc_n, DType::F32, op, "dc_n");
    check::same_device(dc_n, x, op, "dc_n", "x");
    check::shape(dc_n, {d.b, d.h}, op, "dc_n", "(B, H)", state);
  }
  return backend_for(x.device())
      .rnn_layer_backward(spec, x, weights, h0, c0, forward, dy, dh_n, dc_n);
}

}  // namespace rnnlm::ops
