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

#include "core/cell.h"
#include "cpu/gemm.h"
#include "test_harness.h"

namespace {

using rnnlm::CellKind;
using rnnlm::DType;
using rnnlm::Device;
using rnnlm::Tensor;
namespace ops = rnnlm::ops;

using Vec = std::vector<double>;

// Everything a layer call reads, as doubles (the engine gets the same values as floats).
struct Problem {
  CellKind cell = CellKind::LSTM;
  bool reverse = false, bias = true, has_h0 = false, has_c0 = false, has_dhn = false, has_dcn = false;
  std::vector<int32_t> batch_sizes;
  int64_t in = 0, hidden = 0;
  Vec x, h0, c0, w_ih, w_hh, b_ih, b_hh;  // parameters
  Vec ry, rh, rc;                          // loss weights: L = <y, ry> + <h_n, rh> + <c_n, rc>

  int64_t gates() const { return rnnlm::gate_count(cell); }
  int64_t n() const {
    int64_t s = 0;
    for (int32_t b : batch_sizes) s += b;
    return s;
  }
  int64_t b() const { return batch_sizes[0]; }
};

double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct RefOut {
  Vec y, hn, cn;
};

// Straightforward per-sequence recurrence in double precision (PyTorch semantics).
RefOut reference(const Problem& p) {
  const int64_t H = p.hidden, In = p.in, G = p.gates(), B = p.b(), T = p.batch_sizes.size();
  std::vector<int64_t> off(T);
  int64_t acc = 0;
  for (int64_t t = 0; t < T; ++t) {
    off[t] = acc;
    acc += p.batch_sizes[t];
  }
  RefOut out;
  out.y.assign(p.n() * H, 0.0);
  out.hn.assign(B * H, 0.0);
  out.cn.assign(B * H, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t len = 0;
    while (len < T && p.batch_sizes[len] > b) ++len;
    Vec h(H), c(H), a(G * H), ah(G * H), hn(H), cn(H);
    for (int64_t j = 0; j < H; ++j) {
      h[j] = p.has_h0 ? p.h0[b * H + j] : 0.0;
      c[j] = p.has_c0 ? p.c0[b * H + j] : 0.0;
    }
    for (int64_t step = 0; step < len; ++step) {
      const int64_t t = p.reverse ? len - 1 - step : step;
      const double* xr = &p.x[(off[t] + b) * In];
      for (int64_t r = 0; r < G * H; ++r) {
        double vx = p.bias ? p.b_ih[r] : 0.0, vh = p.bias ? p.b_hh[r] : 0.0;
        for (int64_t k = 0; k < In; ++k) vx += p.w_ih[r * In + k] * xr[k];
        for (int64_t k = 0; k < H; ++k) vh += p.w_hh[r * H + k] * h[k];
        a[r] = vx;
        ah[r] = vh;
      }
      for (int64_t j = 0; j < H; ++j) {
        switch (p.cell) {
          case CellKind::LSTM: {
            const double i = sigm(a[j] + ah[j]), f = sigm(a[H + j] + ah[H + j]);
            const double g = std::tanh(a[2 * H + j] + ah[2 * H + j]), o = sigm(a[3 * H + j] + ah[3 * H + j]);
            cn[j] = f * c[j] + i * g;
            hn[j] = o * std::tanh(cn[j]);
            break;
          }
          case CellKind::GRU: {
            const double r = sigm(a[j] + ah[j]), z = sigm(a[H + j] + ah[H + j]);
            const double n = std::tanh(a[2 * H + j] + r * ah[2 * H + j]);
            hn[j] = (1.0 - z) * n + z * h[j];
            break;
          }
          case CellKind::RNN_TANH: hn[j] = std::tanh(a[j] + ah[j]); break;
          case CellKind::RNN_RELU: hn[j] = std::max(0.0, a[j] + ah[j]); break;
        }
      }
      h = hn;
      c = cn;
      for (int64_t j = 0; j < H; ++j) out.y[(off[t] + b) * H + j] = h[j];
    }
    for (int64_t j = 0; j < H; ++j) {
      out.hn[b * H + j] = h[j];
      out.cn[b * H + j] = c[j];
    }
  }
  return out;
}

double loss(const Problem& p) {
  const RefOut o = reference(p);
  double l = 0.0;
  for (size_t i = 0; i < o.y.size(); ++i) l += o.y[i] * p.ry[i];
  if (p.has_dhn)
    for (size_t i = 0; i < o.hn.size(); ++i) l += o.hn[i] * p.rh[i];
  if (p.has_dcn && p.cell == CellKind::LSTM)
    for (size_t i = 0; i < o.cn.size(); ++i) l += o.cn[i] * p.rc[i];
  return l;
}

Vec random_vec(int64_t n, double scale) {
  Vec v(n);
  for (double& e : v) e = static_cast<float>(test::rand_uniform(-scale, scale));  // float-exact
  return v;
}

Problem make_problem(CellKind cell, std::vector<int32_t> bs, int64_t in, int64_t hidden) {
  Problem p;
  p.cell = cell;
  p.batch_sizes = std::move(bs);
  p.in = in;
  p.hidden = hidden;
  const int64_t G = p.gates(), N = p.n(), B = p.b();
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
  p.x = random_vec(N * in, 1.0);
  p.h0 = random_vec(B * hidden, 0.8);
  p.c0 = random_vec(B * hidden, 0.8);
  p.w_ih = random_vec(G * hidden * in, 2 * k);
  p.w_hh = random_vec(G * hidden * hidden, 2 * k);
  p.b_ih = random_vec(G * hidden, k);
  p.b_hh = random_vec(G * hidden, k);
  p.ry = random_vec(N * hidden, 1.0);
  p.rh = random_vec(B * hidden, 1.0);
  p.rc = random_vec(B * hidden, 1.0);
  return p;
}

Tensor tensor(const Vec& v, rnnlm::Shape shape) {
  std::vector<float> f(v.begin(), v.end());
  return ops::from_host(f.data(), shape, DType::F32, Device::CPU);
}

std::vector<float> host(const Tensor& t) {
  std::vector<float> f(static_cast<size_t>(t.numel()));
  if (!f.empty()) ops::to_host(t, f.data());
  return f;
}

struct EngineResult {
  std::vector<float> y, hn, cn, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh;
};

EngineResult run_engine(const Problem& p, bool fused) {
  const int64_t G = p.gates(), H = p.hidden, N = p.n(), B = p.b();
  rnnlm::LayerSpec spec;
  spec.cell = p.cell;
  spec.reverse = p.reverse;
  spec.fused = fused;
  spec.batch_sizes = p.batch_sizes;
  rnnlm::LayerWeights w;
  w.w_ih = tensor(p.w_ih, {G * H, p.in});
  w.w_hh = tensor(p.w_hh, {G * H, H});
  if (p.bias) {
    w.b_ih = tensor(p.b_ih, {G * H});
    w.b_hh = tensor(p.b_hh, {G * H});
  }
  const Tensor x = tensor(p.x, {N, p.in});
  const Tensor h0 = p.has_h0 ? tensor(p.h0, {B, H}) : Tensor();
  const bool lstm = p.cell == CellKind::LSTM;
  const Tensor c0 = p.has_c0 && lstm ? tensor(p.c0, {B, H}) : Tensor();
  const rnnlm::LayerForward f = ops::rnn_layer_forward(spec, x, w, h0, c0);
  const Tensor dy = tensor(p.ry, {N, H});
  const Tensor dhn = p.has_dhn ? tensor(p.rh, {B, H}) : Tensor();
  const Tensor dcn = p.has_dcn && lstm ? tensor(p.rc, {B, H}) : Tensor();
  const rnnlm::LayerGradients g = ops::rnn_layer_backward(spec, x, w, h0, c0, f, dy, dhn, dcn);
  EngineResult r;
  r.y = host(f.y);
  r.hn = host(f.h_n);
  if (lstm) r.cn = host(f.c_n);
  r.dx = host(g.dx);
  r.dh0 = host(g.dh0);
  if (lstm) r.dc0 = host(g.dc0);
  r.dw_ih = host(g.dw_ih);
  r.dw_hh = host(g.dw_hh);
  if (p.bias) {
    r.db_ih = host(g.db_ih);
    r.db_hh = host(g.db_hh);
  }
  return r;
}

std::string name(const Problem& p, bool fused) {
  return std::string(rnnlm::cell_kind_name(p.cell)) + (p.reverse ? " reverse" : " forward") +
         (p.bias ? " bias" : " nobias") + (p.has_h0 ? " h0" : "") + (p.has_c0 ? " c0" : "") +
         (p.has_dhn ? " dhn" : "") + (p.has_dcn ? " dcn" : "") + (fused ? " fused" : " unfused") +
         " H=" + std::to_string(p.hidden) + " In=" + std::to_string(p.in);
}

void compare(const std::string& what, const std::vector<float>& got, const Vec& want, double atol,
             double rtol) {
  if (got.size() != want.size()) {
    test::report(__FILE__, __LINE__, what + ": size " + std::to_string(got.size()) + " vs " + std::to_string(want.size()));
    return;
  }
  double worst = 0.0;
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]) / (atol + rtol * std::fabs(want[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= 1.0))
    test::report(__FILE__, __LINE__, what + ": element " + std::to_string(at) + " = " +
                 std::to_string(got[at]) + ", want " + std::to_string(want[at]) + " (scaled error " +
                 std::to_string(worst) + ")");
}

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
    eq("dx", o.dx, fused.dx);
    eq("dh0", o.dh0, fused.dh0);
    eq("dw_ih", o.dw_ih, fused.dw_ih);
    eq("dw_hh", o.dw_hh, fused.dw_hh);
    eq("db_ih", o.db_ih, fused.db_ih);
    eq("db_hh", o.db_hh, fused.db_hh);
    if (cell == CellKind::LSTM) {
      eq("c_n", o.cn, fused.cn);
      eq("dc0", o.dc0, fused.dc0);
    }
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
