// The packed-sequence RNN layer (ops::rnn_layer_forward / rnn_layer_backward on the CPU) against
// an independent double-precision reference that walks every sequence on its own.
//   - small layers: every output, and every gradient against central differences of the
//     reference, for LSTM / GRU / RNN_TANH / RNN_RELU, forward and reverse, with and without
//     h0 / c0, biases, dh_n / dc_n, fused and unfused, on unequal sequence lengths;
//   - larger layers (several threads per step, ragged micro-tiles): outputs against the
//     reference, gradients against a directional central difference, fused against unfused,
//     and the BLAS GEMM against the built-in one.
#include <cmath>
#include <string>
#include <vector>

#include "cpu/gemm.h"
#include "test_rnn_reference.h"

namespace {

using namespace rnn_reference;

// d loss / d v[i] for every i, central differences of the double reference.
Vec numeric_grad(Problem& p, Vec Problem::*field) {
  Vec& v = p.*field;
  Vec g(v.size());
  const double eps = 1e-6;
  for (size_t i = 0; i < v.size(); ++i) {
    const double keep = v[i];
    v[i] = keep + eps;
    const double up = loss(p);
    v[i] = keep - eps;
    const double down = loss(p);
    v[i] = keep;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

void check_full(Problem p, bool fused) {
  const std::string what = name(p, fused);
  const EngineResult r = run_engine(p, fused);
  const RefOut ref = reference(p);
  const double atol = 2e-5, rtol = 2e-4;
  compare(what + " y", r.y, ref.y, atol, rtol);
  compare(what + " h_n", r.hn, ref.hn, atol, rtol);
  if (p.cell == CellKind::LSTM) compare(what + " c_n", r.cn, ref.cn, atol, rtol);
  compare(what + " dx", r.dx, numeric_grad(p, &Problem::x), atol, rtol);
  compare(what + " dw_ih", r.dw_ih, numeric_grad(p, &Problem::w_ih), atol, rtol);
  compare(what + " dw_hh", r.dw_hh, numeric_grad(p, &Problem::w_hh), atol, rtol);
  // dh0 / dc0 are returned whether or not h0 / c0 were given (the gradient of a zero state).
  const bool keep_h0 = p.has_h0, keep_c0 = p.has_c0;
  p.has_h0 = p.has_c0 = true;
  if (!keep_h0) std::fill(p.h0.begin(), p.h0.end(), 0.0);
  if (!keep_c0) std::fill(p.c0.begin(), p.c0.end(), 0.0);
  compare(what + " dh0", r.dh0, numeric_grad(p, &Problem::h0), atol, rtol);
  if (p.cell == CellKind::LSTM) compare(what + " dc0", r.dc0, numeric_grad(p, &Problem::c0), atol, rtol);
  if (p.bias) {
    compare(what + " db_ih", r.db_ih, numeric_grad(p, &Problem::b_ih), atol, rtol);
    compare(what + " db_hh", r.db_hh, numeric_grad(p, &Problem::b_hh), atol, rtol);
  }
}

void test_small_layers() {
  const CellKind cells[] = {CellKind::LSTM, CellKind::GRU, CellKind::RNN_TANH, CellKind::RNN_RELU};
  for (CellKind cell : cells)
    for (int variant = 0; variant < 32; ++variant) {
      // Unequal lengths (3, 3, 2, 1 ... as a PackedSequence sorted by length).
      Problem p = make_problem(cell, {3, 3, 2, 2, 1}, 3, 5);
      p.reverse = variant & 1;
      p.has_h0 = variant & 2;
      p.has_c0 = variant & 4;
      p.has_dhn = p.has_dcn = variant & 8;
      p.bias = !(variant & 16);
      check_full(p, true);
      if (variant % 4 == 0) check_full(p, false);
    }
  // Equal lengths, a single sequence, a single step.
  for (CellKind cell : cells) {
    Problem p = make_problem(cell, {4, 4, 4}, 2, 3);
    p.has_h0 = p.has_dhn = true;
    check_full(p, true);
    Problem q = make_problem(cell, {1, 1, 1, 1}, 4, 2);
    q.reverse = true;
    check_full(q, true);
    Problem r = make_problem(cell, {2}, 3, 4);
    r.has_h0 = r.has_c0 = r.has_dhn = r.has_dcn = true;
    check_full(r, false);
    // No input features at all: the state alone drives the recurrence.
    Problem e = make_problem(cell, {3, 2, 2}, 0, 3);
    e.has_h0 = e.has_c0 = true;
    check_full(e, true);
  }
}

// Sum over every gradient of <grad, direction>, against the directional difference of the loss.
void check_large(CellKind cell, bool reverse) {
  // 19 sequences of lengths 12 down to 1; H = 70 (two full 32-unit blocks and a short one), so
  // steps run on several threads with partial tiles in both directions.
  std::vector<int32_t> bs = {19, 19, 17, 16, 16, 12, 9, 9, 5, 3, 2, 1};
  Problem p = make_problem(cell, bs, 33, 70);
  p.reverse = reverse;
  p.has_h0 = p.has_c0 = p.has_dhn = p.has_dcn = true;
  const std::string what = name(p, true);
  const EngineResult fused = run_engine(p, true);
  const RefOut ref = reference(p);
  compare(what + " y", fused.y, ref.y, 2e-5, 2e-4);
  compare(what + " h_n", fused.hn, ref.hn, 2e-5, 2e-4);
  if (cell == CellKind::LSTM) compare(what + " c_n", fused.cn, ref.cn, 2e-5, 2e-4);

  // Unfused and BLAS / built-in variants agree with the fused, BLAS-or-built-in default.
  auto same = [&](const std::string& label, const EngineResult& o) {
    auto eq = [&](const char* field, const std::vector<float>& a, const std::vector<float>& b) {
      compare(label + " " + field, a, Vec(b.begin(), b.end()), 1e-5, 1e-4);
    };
    eq("y", o.y, fused.y);
    eq("h_n", o.hn, fused.hn);
    if (cell == CellKind::LSTM) eq("c_n", o.cn, fused.cn);
    compare_gradients(label, o, fused, cell == CellKind::LSTM);
  };
  same(what + " unfused vs fused", run_engine(p, false));
  if (rnnlm::cpu::blas_available()) {
    const auto before = rnnlm::cpu::gemm_provider();
    const auto other = before == rnnlm::cpu::GemmProvider::Blas ? rnnlm::cpu::GemmProvider::Builtin
                                                                 : rnnlm::cpu::GemmProvider::Blas;
    rnnlm::cpu::set_gemm_provider(other);
    same(what + " other GEMM provider", run_engine(p, true));
    rnnlm::cpu::set_gemm_provider(before);
  }

  // Directional derivative along a random direction in every parameter at once.
  Vec Problem::*fields[] = {&Problem::x, &Problem::h0, &Problem::c0, &Problem::w_ih,
                            &Problem::w_hh, &Problem::b_ih, &Problem::b_hh};
  const std::vector<float>* grads[] = {&fused.dx, &fused.dh0, &fused.dc0, &fused.dw_ih,
                                       &fused.dw_hh, &fused.db_ih, &fused.db_hh};
  std::vector<Vec> dir;
  double analytic = 0.0;
  for (int f = 0; f < 7; ++f) {
    dir.push_back(random_vec((p.*fields[f]).size(), 1.0));
    if (f == 2 && cell != CellKind::LSTM) continue;
    for (size_t i = 0; i < dir[f].size(); ++i) analytic += (*grads[f])[i] * dir[f][i];
  }
  const double eps = 1e-5;
  auto shifted = [&](double sign) {
    Problem q = p;
    for (int f = 0; f < 7; ++f)
      for (size_t i = 0; i < dir[f].size(); ++i) (q.*fields[f])[i] += sign * eps * dir[f][i];
    return loss(q);
  };
  const double numeric = (shifted(1) - shifted(-1)) / (2 * eps);
  CHECK_NEAR(analytic, numeric, 1e-3 * (1.0 + std::fabs(numeric)));
}

void test_large_layers() {
  for (CellKind cell : {CellKind::LSTM, CellKind::GRU, CellKind::RNN_TANH, CellKind::RNN_RELU})
    for (bool reverse : {false, true}) check_large(cell, reverse);
}

}  // namespace

int main() {
  test_small_layers();
  test_large_layers();
  return test::finish("test_scan");
}
