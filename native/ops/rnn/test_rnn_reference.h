// The tests' reference for a recurrent layer: a problem (every input as doubles), a
// per-sequence double-precision recurrence on the shared cell maths, the engine's layer run on
// the same problem, and a scaled comparison. Used by test_scan.cpp and test_cell_paths.cpp.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "cell_math.h"
#include "core/cell.h"
#include "tests/test_harness.h"

namespace rnn_reference {

using rnnlm::CellKind;
using rnnlm::DType;
using rnnlm::Device;
using rnnlm::Tensor;
namespace ops = rnnlm::ops;
namespace cm = rnnlm::cellmath;

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

// The cell maths (cell_math.h) in double precision.
struct RefMath {
  static double sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }
  static double tanh(double v) { return std::tanh(v); }
};

struct RefOut {
  Vec y, hn, cn;
};

// Straightforward per-sequence recurrence in double precision (PyTorch semantics), on the
// shared cell maths: only the packed walk, the GEMMs and the rounding are independent of the engine.
inline RefOut reference(const Problem& p) {
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
      const double* xr = p.x.data() + (off[t] + b) * In;  // In may be 0: no element to index
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
            const auto st = cm::lstm_forward<RefMath>(a[j] + ah[j], a[H + j] + ah[H + j],
                                                      a[2 * H + j] + ah[2 * H + j], a[3 * H + j] + ah[3 * H + j], c[j]);
            cn[j] = st.c;
            hn[j] = st.h;
            break;
          }
          case CellKind::GRU:
            hn[j] = cm::gru_forward<RefMath>(a[j] + ah[j], a[H + j] + ah[H + j], a[2 * H + j], ah[2 * H + j], h[j]).h;
            break;
          case CellKind::RNN_TANH: hn[j] = cm::rnn_forward<RefMath>(a[j] + ah[j], false); break;
          case CellKind::RNN_RELU: hn[j] = cm::rnn_forward<RefMath>(a[j] + ah[j], true); break;
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

inline double loss(const Problem& p) {
  const RefOut o = reference(p);
  double l = 0.0;
  for (size_t i = 0; i < o.y.size(); ++i) l += o.y[i] * p.ry[i];
  if (p.has_dhn)
    for (size_t i = 0; i < o.hn.size(); ++i) l += o.hn[i] * p.rh[i];
  if (p.has_dcn && p.cell == CellKind::LSTM)
    for (size_t i = 0; i < o.cn.size(); ++i) l += o.cn[i] * p.rc[i];
  return l;
}

inline Vec random_vec(int64_t n, double scale) {
  Vec v(n);
  for (double& e : v) e = static_cast<float>(test::rand_uniform(-scale, scale));  // float-exact
  return v;
}

inline Problem make_problem(CellKind cell, std::vector<int32_t> bs, int64_t in, int64_t hidden) {
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

inline Tensor tensor(const Vec& v, rnnlm::Shape shape, Device device = Device::CPU) {
  std::vector<float> f(v.begin(), v.end());
  return ops::from_host(f.data(), shape, DType::F32, device);
}

inline std::vector<float> host(const Tensor& t) {
  std::vector<float> f(static_cast<size_t>(t.numel()));
  if (!f.empty()) ops::to_host(t, f.data());
  return f;
}

struct EngineResult {
  std::vector<float> y, hn, cn, dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh;
};

// One layer forward and backward on `device` (the CPU, or in an emulator build the CUDA kernels).
inline EngineResult run_engine(const Problem& p, bool fused, Device device = Device::CPU) {
  const int64_t G = p.gates(), H = p.hidden, N = p.n(), B = p.b();
  rnnlm::LayerSpec spec;
  spec.cell = p.cell;
  spec.reverse = p.reverse;
  spec.fused = fused;
  spec.batch_sizes = p.batch_sizes;
  rnnlm::LayerWeights w;
  w.w_ih = tensor(p.w_ih, {G * H, p.in}, device);
  w.w_hh = tensor(p.w_hh, {G * H, H}, device);
  if (p.bias) {
    w.b_ih = tensor(p.b_ih, {G * H}, device);
    w.b_hh = tensor(p.b_hh, {G * H}, device);
  }
  const Tensor x = tensor(p.x, {N, p.in}, device);
  const Tensor h0 = p.has_h0 ? tensor(p.h0, {B, H}, device) : Tensor();
  const bool lstm = p.cell == CellKind::LSTM;
  const Tensor c0 = p.has_c0 && lstm ? tensor(p.c0, {B, H}, device) : Tensor();
  const rnnlm::LayerForward f = ops::rnn_layer_forward(spec, x, w, h0, c0);
  const Tensor dy = tensor(p.ry, {N, H}, device);
  const Tensor dhn = p.has_dhn ? tensor(p.rh, {B, H}, device) : Tensor();
  const Tensor dcn = p.has_dcn && lstm ? tensor(p.rc, {B, H}, device) : Tensor();
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

inline std::string name(const Problem& p, bool fused) {
  return std::string(rnnlm::cell_kind_name(p.cell)) + (p.reverse ? " reverse" : " forward") +
         (p.bias ? " bias" : " nobias") + (p.has_h0 ? " h0" : "") + (p.has_c0 ? " c0" : "") +
         (p.has_dhn ? " dhn" : "") + (p.has_dcn ? " dcn" : "") + (fused ? " fused" : " unfused") +
         " H=" + std::to_string(p.hidden) + " In=" + std::to_string(p.in);
}

inline void compare(const std::string& what, const std::vector<float>& got, const Vec& want, double atol,
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

// Every gradient of `got` against `want` (two engine runs of one problem), labelled "<label> <field>".
inline void compare_gradients(const std::string& label, const EngineResult& got, const EngineResult& want,
                              bool lstm) {
  auto eq = [&](const char* field, const std::vector<float>& a, const std::vector<float>& b) {
    compare(label + " " + field, a, Vec(b.begin(), b.end()), 1e-5, 1e-4);
  };
  eq("dx", got.dx, want.dx);
  eq("dh0", got.dh0, want.dh0);
  eq("dw_ih", got.dw_ih, want.dw_ih);
  eq("dw_hh", got.dw_hh, want.dw_hh);
  eq("db_ih", got.db_ih, want.db_ih);
  eq("db_hh", got.db_hh, want.db_hh);
  if (lstm) eq("dc0", got.dc0, want.dc0);
}

}  // namespace rnn_reference
