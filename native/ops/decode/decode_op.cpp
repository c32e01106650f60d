// Validated autoregressive decoding (decode_op.h): decode_pick and the step-by-step stack
// composed from backend ops. Everything is checked before the time loop; inside it only backend
// methods run, so no step reads ids back to the host (except the early-stop test of inference,
// one (B) copy per step).
#include "decode_op.h"

#include "core/check.h"
#include "ops/rnn/rnn_checks.h"

namespace rnnlm::ops {

namespace {

std::string num(int64_t v) { return std::to_string(v); }

// Rows [start, start + count) of x, or x itself when that is all of it.
Tensor rows_of(const Tensor& x, int64_t start, int64_t count) {
  return start == 0 && count == x.dim(0) ? x : slice_rows(x, start, count);
}

// parts laid end to end along dim 0, or the only part itself.
Tensor cat_rows(const std::vector<Tensor>& parts) {
  return parts.size() == 1 ? parts[0] : concat_rows(parts);
}

struct DecodeDims {
  int64_t n = 0, b = 0, t = 0, v = 0, e = 0, h = 0, layers = 0;
};

DecodeDims check_decode(const char* op, const DecodeSpec& spec, const DecodeWeights& w,
                        const std::vector<Tensor>& h0, const std::vector<Tensor>& c0,
                        const Tensor& input_mask, const std::vector<int32_t>& batch_sizes) {
  DecodeDims d;
  const std::string o(op);
  check::cell_kind(spec.cell, op);
  d.n = check::packed_batch_sizes(batch_sizes, op);
  d.b = batch_sizes[0];
  d.t = static_cast<int64_t>(batch_sizes.size());
  check::in_range(spec.teacher_ratio, 0.0, 1.0, false, op, "teacher_ratio");
  check::non_negative(spec.temperature, op, "temperature");

  check::dtype(w.embedding, DType::F32, op, "embedding");
  check::rank(w.embedding, 2, op, "embedding", "(V, E)");
  d.v = w.embedding.dim(0);
  d.e = w.embedding.dim(1);
  RNNLM_CHECK(spec.stop_id >= -1 && spec.stop_id < d.v, code::kArgument,
              o + ": stop_id must be -1 or a token id in [0, " + num(d.v) + "), got " +
                  num(spec.stop_id));
  RNNLM_CHECK(!w.layers.empty(), code::kArgument, o + ": the decoder needs at least one layer");
  d.layers = static_cast<int64_t>(w.layers.size());

  const auto layer_name = [](size_t l) { return "layers[" + num(static_cast<int64_t>(l)) + "]."; };
  d.h = check::hidden_size(w.layers[0].w_hh, w.embedding, "embedding", op, layer_name(0));
  for (size_t l = 0; l < w.layers.size(); ++l)
    check::layer_weights(w.layers[l], spec.cell, l == 0 ? d.e : d.h, d.h, w.embedding, "embedding",
                         op, layer_name(l));
  check::dtype(w.out_w, DType::F32, op, "out_w");
  check::same_device(w.out_w, w.embedding, op, "out_w", "embedding");
  // Predictions are fed back through the embedding, so both index the same vocabulary.
  check::shape(w.out_w, {d.v, d.h}, op, "out_w", "(V, H)",
               "V = " + num(d.v) + " (the embedding's rows), H = " + num(d.h));
  if (w.out_b.defined()) {
    check::dtype(w.out_b, DType::F32, op, "out_b");
    check::same_device(w.out_b, w.embedding, op, "out_b", "embedding");
    check::shape(w.out_b, {d.v}, op, "out_b", "(V)", "V = " + num(d.v));
  }

  const auto states = [&](const std::vector<Tensor>& list, const char* what, bool cell_state) {
    RNNLM_CHECK(list.empty() || static_cast<int64_t>(list.size()) == d.layers, code::kArgument,
                o + ": " + what + " must hold one state per layer (" + num(d.layers) + "), got " +
                    num(static_cast<int64_t>(list.size())));
    for (size_t l = 0; l < list.size(); ++l)
      check::layer_state(list[l], cell_state, spec.cell, d.b, d.h, w.embedding, "embedding", op,
                         std::string(what) + "[" + num(static_cast<int64_t>(l)) + "]");
  };
  states(h0, "h0", false);
  states(c0, "c0", true);
  if (input_mask.defined()) {
    check::dtype(input_mask, DType::F32, op, "input_mask");
    check::same_device(input_mask, w.embedding, op, "input_mask", "embedding");
    check::rank(input_mask, 2, op, "input_mask", "(N, E)");
    RNNLM_CHECK(input_mask.dim(1) == d.e && input_mask.dim(0) >= d.n, code::kShape,
                o + ": input_mask must be (N, E) with N = " + num(d.n) + ", E = " + num(d.e) +
                    ", got " + shape_str(input_mask.shape()));
  }
  return d;
}

// Every id in [0, vocab).
void check_ids(const Tensor& ids, int64_t n, int64_t vocab, const char* op, const char* name) {
  check::dtype(ids, DType::I32, op, name);
  check::shape(ids, {n}, op, name, "(N)", "N = sum(batch_sizes) = " + num(n));
  check::HostI32 host(ids);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = host.data()[i];
    RNNLM_CHECK(id >= 0 && id < vocab, code::kIndex,
                std::string(op) + ": " + name + "[" + num(i) + "] = " + num(id) +
                    " is out of range for a vocabulary of " + num(vocab));
  }
}

}  // namespace

// --- one step's pick ----------------------------------------------------------------------

void decode_pick(const Tensor& logits, const Tensor& teacher, float teacher_ratio, float temperature,
                 uint64_t seed, uint64_t offset, int64_t index_base, Tensor& predicted,
                 Tensor& chosen) {
  const char* op = "decode_pick";
  check::dtype(logits, DType::F32, op, "logits");
  check::rank(logits, 2, op, "logits", "(M, V)");
  RNNLM_CHECK(logits.dim(1) > 0, code::kShape, "decode_pick: logits must have V > 0 columns");
  if (teacher.defined()) {
    check::dtype(teacher, DType::I32, op, "teacher");
    check::same_device(teacher, logits, op, "teacher", "logits");
    check::rank(teacher, 1, op, "teacher", "(K)");
    RNNLM_CHECK(teacher.dim(0) <= logits.dim(0), code::kShape,
                "decode_pick: teacher must have K <= M = " + num(logits.dim(0)) + " rows, got " +
                    shape_str(teacher.shape()));
  }
  check::in_range(teacher_ratio, 0.0, 1.0, false, op, "teacher_ratio");
  check::non_negative(temperature, op, "temperature");
  RNNLM_CHECK(index_base >= 0, code::kArgument, "decode_pick: index_base must be >= 0");
  backend_for(logits.device())
      .decode_pick(logits, teacher, teacher_ratio, temperature, seed, offset, index_base,
                   predicted, chosen);
}

// --- autoregressive decoding -------------------------------------------------------------------

DecodeForward autoregressive_decode_forward(const DecodeSpec& spec, const Tensor& inputs,
                                           const DecodeWeights& w, const std::vector<Tensor>& h0,
                                           const std::vector<Tensor>& c0,
                                           const Tensor& input_mask) {
  const char* op = "autoregressive_decode_forward";
  const DecodeDims d = check_decode(op, spec, w, h0, c0, input_mask, spec.batch_sizes);
  check::same_device(inputs, w.embedding, op, "inputs", "embedding");
  check_ids(inputs, d.n, d.v, op, "inputs");

  Backend& be = backend_for(w.embedding.device());
  const bool lstm = has_cell_state(spec.cell);
  const std::vector<int32_t>& bs = spec.batch_sizes;
  std::vector<int64_t> off(static_cast<size_t>(d.t), 0);
  for (int64_t t = 1; t < d.t; ++t) off[t] = off[t - 1] + bs[t - 1];

  const size_t layers = w.layers.size();
  // The states carried into the next step, per layer (undefined: zeros).
  std::vector<Tensor> h(layers), c(layers);
  for (size_t l = 0; l < layers; ++l) {
    if (l < h0.size()) h[l] = h0[l];
    if (lstm && l < c0.size()) c[l] = c0[l];
  }
  std::vector<std::vector<Tensor>> ys(layers), wss(layers), cns(layers);
  std::vector<Tensor> read, picked, xs, logits_steps;
  std::vector<char> done;
  if (spec.stop_id >= 0) done.assign(static_cast<size_t>(d.b), 0);
  std::vector<int32_t> host_pick;

  Tensor chosen = rows_of(inputs, 0, bs[0]);
  int64_t steps = 0;
  for (int64_t t = 0; t < d.t; ++t) {
    const int64_t rows = bs[t];
    Tensor x = be.embedding_forward(w.embedding, chosen);  // (rows, E)
    if (input_mask.defined()) x = be.mul(x, rows_of(input_mask, off[t], rows));
    read.push_back(chosen);
    xs.push_back(x);
    Tensor layer_in = x;
    for (size_t l = 0; l < layers; ++l) {
      LayerSpec ls;
      ls.cell = spec.cell;
      ls.fused = spec.fused;
      ls.batch_sizes = {static_cast<int32_t>(rows)};
      const Tensor hs = h[l].defined() ? rows_of(h[l], 0, rows) : Tensor();
      const Tensor cs = lstm && c[l].defined() ? rows_of(c[l], 0, rows) : Tensor();
      LayerForward f = be.rnn_layer_forward(ls, layer_in, w.layers[l], hs, cs);
      ys[l].push_back(f.y);
      wss[l].push_back(f.workspace);
      if (lstm) cns[l].push_back(f.c_n);
      h[l] = f.h_n;
      c[l] = f.c_n;
      layer_in = f.y;
    }
    Tensor logits = be.linear_forward(layer_in, w.out_w, w.out_b);  // (rows, V)
    logits_steps.push_back(logits);
    const int64_t next = t + 1 < d.t ? bs[t + 1] : 0;
    const Tensor teacher =
        next > 0 && spec.teacher_ratio > 0.0f ? rows_of(inputs, off[t + 1], next) : Tensor();
    Tensor predicted, pick;
    be.decode_pick(logits, teacher, spec.teacher_ratio, spec.temperature, spec.seed, spec.offset,
                   off[t], predicted, pick);
    picked.push_back(predicted);
    steps = t + 1;
    if (spec.stop_id >= 0) {
      host_pick.resize(static_cast<size_t>(rows));
      be.copy_to_host(predicted, host_pick.data());
      bool all = true;
      for (int64_t b = 0; b < d.b; ++b) {
        if (b < rows && host_pick[static_cast<size_t>(b)] == spec.stop_id) done[b] = 1;
        if (b >= next) done[b] = 1;  // its sequence has no more steps
        all = all && done[b] != 0;
      }
      if (all) break;
    }
    if (next > 0) chosen = rows_of(pick, 0, next);
  }

  DecodeForward out;
  out.batch_sizes.assign(bs.begin(), bs.begin() + steps);
  out.inputs = cat_rows(read);
  out.predicted = cat_rows(picked);
  out.x = cat_rows(xs);
  out.logits = cat_rows(logits_steps);
  out.layers.resize(layers);
  for (size_t l = 0; l < layers; ++l) {
    LayerForward& f = out.layers[l];
    f.y = cat_rows(ys[l]);
    f.workspace = cat_rows(wss[l]);
    // Row b's final state is its last step's: rows [bs(t+1), bs(t)) end at step t, so walking
    // the steps backwards lists them in row order.
    std::vector<Tensor> hn, cn;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t b0 = t + 1 < steps ? bs[t + 1] : 0, b1 = bs[t];
      if (b1 <= b0) continue;
      hn.push_back(rows_of(ys[l][t], b0, b1 - b0));
      if (lstm) cn.push_back(rows_of(cns[l][t], b0, b1 - b0));
    }
    f.h_n = cat_rows(hn);
    if (lstm) f.c_n = cat_rows(cn);
  }
  return out;
}

DecodeGradients autoregressive_decode_backward(const DecodeSpec& spec, const DecodeWeights& w,
                                               const std::vector<Tensor>& h0,
                                               const std::vector<Tensor>& c0,
                                               const Tensor& input_mask,
                                               const DecodeForward& forward,
                                               const Tensor& dlogits) {
  const char* op = "autoregressive_decode_backward";
  const DecodeDims d = check_decode(op, spec, w, h0, c0, input_mask, forward.batch_sizes);
  RNNLM_CHECK(forward.layers.size() == w.layers.size(), code::kArgument,
              std::string(op) + ": forward has " + num(static_cast<int64_t>(forward.layers.size())) +
                  " layers but weights have " + num(d.layers));
  check::same_device(forward.inputs, w.embedding, op, "forward.inputs", "embedding");
  check_ids(forward.inputs, d.n, d.v, op, "forward.inputs");
  const std::string rows = "N = " + num(d.n);
  check::dtype(forward.x, DType::F32, op, "forward.x");
  check::same_device(forward.x, w.embedding, op, "forward.x", "embedding");
  check::shape(forward.x, {d.n, d.e}, op, "forward.x", "(N, E)", rows + ", E = " + num(d.e));
  check::dtype(dlogits, DType::F32, op, "dlogits");
  check::same_device(dlogits, w.embedding, op, "dlogits", "embedding");
  check::shape(dlogits, {d.n, d.v}, op, "dlogits", "(N, V)", rows + ", V = " + num(d.v));

  LayerSpec ls;
  ls.cell = spec.cell;
  ls.fused = spec.fused;
  ls.batch_sizes = forward.batch_sizes;
  const auto state = [](const std::vector<Tensor>& list, size_t l) {
    return l < list.size() ? list[l] : Tensor();
  };

  DecodeGradients g;
  // Output projection over all N rows: dY = dlogits W_o, dW_o = dlogits^T Y, db_o.
  Tensor dy;
  linear_backward(dlogits, forward.layers.back().y, w.out_w, w.out_b.defined(), true, dy,
                  g.d_out_w, g.d_out_b);
  g.layers.resize(w.layers.size());
  for (size_t k = w.layers.size(); k-- > 0;) {
    const Tensor& x = k == 0 ? forward.x : forward.layers[k - 1].y;
    g.layers[k] = rnn_layer_backward(ls, x, w.layers[k], state(h0, k),
                                     has_cell_state(spec.cell) ? state(c0, k) : Tensor(),
                                     forward.layers[k], dy, Tensor(), Tensor());
    dy = g.layers[k].dx;
  }
  // The fed ids are constants; only the embedding rows they read get gradient.
  if (input_mask.defined()) {
    Backend& be = backend_for(w.embedding.device());
    dy = be.mul(dy, rows_of(input_mask, 0, d.n));
  }
  g.d_embedding = embedding_backward(dy, forward.inputs, d.v);
  return g;
}

}  // namespace rnnlm::ops
