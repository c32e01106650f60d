// Validated public API, part 3: one recurrent layer over a packed batch. The checks tie every
// tensor to the sizes the packed layout implies: N = sum(batch_sizes), B = batch_sizes[0],
// H from w_hh, G from the cell.
#include "core/check.h"
#include "core/ops.h"
#include "rnn_checks.h"

namespace rnnlm::check {

namespace {
std::string num(int64_t v) { return std::to_string(v); }
}  // namespace

void cell_kind(CellKind cell, const char* op) {
  RNNLM_CHECK(cell == CellKind::LSTM || cell == CellKind::GRU || cell == CellKind::RNN_TANH ||
                  cell == CellKind::RNN_RELU,
              code::kArgument, std::string(op) + ": unknown cell kind " + num(static_cast<int>(cell)));
}

int64_t packed_batch_sizes(const std::vector<int32_t>& bs, const char* op) {
  RNNLM_CHECK(!bs.empty(), code::kArgument, std::string(op) + ": batch_sizes is empty");
  int64_t n = 0;
  for (size_t t = 0; t < bs.size(); ++t) {
    RNNLM_CHECK(bs[t] > 0, code::kArgument,
                std::string(op) + ": batch_sizes[" + num(static_cast<int64_t>(t)) + "] = " +
                    num(bs[t]) + " must be positive");
    RNNLM_CHECK(t == 0 || bs[t] <= bs[t - 1], code::kArgument,
                std::string(op) + ": batch_sizes must be non-increasing, got batch_sizes[" +
                    num(static_cast<int64_t>(t) - 1) + "] = " + num(bs[t - 1]) + " then batch_sizes[" +
                    num(static_cast<int64_t>(t)) + "] = " + num(bs[t]));
    n += bs[t];
  }
  return n;
}

int64_t hidden_size(const Tensor& w_hh, const Tensor& ref, const char* ref_name, const char* op,
                    const std::string& prefix) {
  const std::string name = prefix + "w_hh";
  dtype(w_hh, DType::F32, op, name.c_str());
  same_device(w_hh, ref, op, name.c_str(), ref_name);
  rank(w_hh, 2, op, name.c_str(), "(G*H, H)");
  const int64_t h = w_hh.dim(1);
  RNNLM_CHECK(h > 0, code::kShape,
              std::string(op) + ": " + name + " must be (G*H, H) with H > 0, got " +
                  shape_str(w_hh.shape()));
  return h;
}

void layer_weights(const LayerWeights& w, CellKind cell, int64_t in, int64_t h, const Tensor& ref,
                   const char* ref_name, const char* op, const std::string& prefix) {
  const int64_t g = gate_count(cell);
  const std::string gates = "G = " + num(g) + " for " + cell_kind_name(cell) + ", H = " + num(h);
  const auto weight = [&](const Tensor& t, const char* name, const Shape& want, const char* layout,
                          const std::string& detail) {
    const std::string full = prefix + name;
    dtype(t, DType::F32, op, full.c_str());
    same_device(t, ref, op, full.c_str(), ref_name);
    shape(t, want, op, full.c_str(), layout, detail);
  };
  weight(w.w_hh, "w_hh", {g * h, h}, "(G*H, H)", gates);
  weight(w.w_ih, "w_ih", {g * h, in}, "(G*H, In)", gates + ", In = " + num(in));
  // nn.LSTM(bias=False) drops both biases; one without the other has no PyTorch counterpart.
  RNNLM_CHECK(w.b_ih.defined() == w.b_hh.defined(), code::kArgument,
              std::string(op) + ": " + prefix + "b_ih and b_hh must be given together or both omitted");
  if (w.b_ih.defined()) {
    weight(w.b_ih, "b_ih", {g * h}, "(G*H)", gates);
    weight(w.b_hh, "b_hh", {g * h}, "(G*H)", gates);
  }
}

void layer_state(const Tensor& s, bool cell_state, CellKind cell, int64_t b, int64_t h,
                 const Tensor& ref, const char* ref_name, const char* op, const std::string& name) {
  if (!s.defined()) return;
  RNNLM_CHECK(!cell_state || has_cell_state(cell), code::kArgument,
              std::string(op) + ": " + name + " is only for lstm, the cell is " + cell_kind_name(cell));
  dtype(s, DType::F32, op, name.c_str());
  same_device(s, ref, op, name.c_str(), ref_name);
  shape(s, {b, h}, op, name.c_str(), "(B, H)", "B = batch_sizes[0] = " + num(b) + ", H = " + num(h));
}

}  // namespace rnnlm::check

namespace rnnlm::ops {

namespace {

std::string num(int64_t v) { return std::to_string(v); }

struct LayerDims {
  int64_t n = 0, b = 0, in = 0, h = 0, g = 0;
};

LayerDims check_layer(const char* op, const LayerSpec& spec, const Tensor& x,
                      const LayerWeights& w, const Tensor& h0, const Tensor& c0) {
  LayerDims d;
  check::cell_kind(spec.cell, op);
  d.g = gate_count(spec.cell);
  d.n = check::packed_batch_sizes(spec.batch_sizes, op);
  d.b = spec.batch_sizes[0];

  check::dtype(x, DType::F32, op, "x");
  check::rank(x, 2, op, "x", "(N, In)");
  RNNLM_CHECK(x.dim(0) == d.n, code::kShape,
              std::string(op) + ": x must be (N, In) with N = sum(batch_sizes) = " + num(d.n) +
                  ", got " + shape_str(x.shape()));
  d.in = x.dim(1);

  d.h = check::hidden_size(w.w_hh, x, "x", op, "");
  check::layer_weights(w, spec.cell, d.in, d.h, x, "x", op, "");
  check::layer_state(h0, false, spec.cell, d.b, d.h, x, "x", op, "h0");
  check::layer_state(c0, true, spec.cell, d.b, d.h, x, "x", op, "c0");
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
