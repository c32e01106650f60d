// Pointwise cell kernels, fused and unfused, forward beside backward: the launches of the
// shared cell maths (ops/rnn/cell_math.h) over the rows of a step. See cpu_cells.h for the
// meaning of every pointer. Inner loops run over hidden units j of one row with __restrict
// pointers into disjoint slots, so GCC vectorises them (fast_math.h keeps the transcendental
// functions branch-free for the same reason; the cell maths is inline arithmetic on floats).
#include "cpu_cells.h"

#include "cell_math.h"
#include "core/error.h"
#include "cpu/fast_math.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: compiled once per CPU kernel variant
namespace cells {

namespace cm = cellmath;

namespace {

// The CPU's transcendental functions for the cell maths (defined outside this kernel variant:
// see fast_math.h).
using FastMath = fastmath::CellFunctions;

// Copies h' (and c') of row r to the next step's h_prev (c_prev) slots.
inline void carry_row(const float* __restrict src, float* __restrict dst, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; ++j) dst[j] = src[j];
}

}  // namespace

// ================================ LSTM =========================================================

// One row; the __restrict parameters (disjoint slots) let GCC vectorise without alias checks.
static inline void lstm_forward_row(int64_t j0, int64_t j1, float* __restrict gi,
                                    float* __restrict gf, float* __restrict gg,
                                    float* __restrict go, float* __restrict c,
                                    const float* __restrict cp, float* __restrict y,
                                    const float* __restrict bias, int64_t H) {
  const float* bi = bias;
  const float* bf = bias + H;
  const float* bg = bias + 2 * H;
  const float* bo = bias + 3 * H;
  for (int64_t j = j0; j < j1; ++j) {
    const cm::LstmStep<float> st =
        cm::lstm_forward<FastMath>(gi[j] + bi[j], gf[j] + bf[j], gg[j] + bg[j], go[j] + bo[j], cp[j]);
    gi[j] = st.i;
    gf[j] = st.f;
    gg[j] = st.g;
    go[j] = st.o;
    c[j] = st.c;
    y[j] = st.h;
  }
}

void lstm_forward(const StepForward& s) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    float* w = s.ws + r * s.ld_ws;
    float* y = s.y + r * s.ld_y;
    lstm_forward_row(s.j0, s.j1, w, w + H, w + 2 * H, w + 3 * H, w + ws_c(H), w + ws_c_prev(H), y,
                     s.bias, H);
    if (r < s.next_rows) {
      float* next = s.next_ws + r * s.ld_ws;
      carry_row(y, next + ws_h_prev(CellKind::LSTM, H), s.j0, s.j1);
      carry_row(w + ws_c(H), next + ws_c_prev(H), s.j0, s.j1);
    }
  }
}

static inline void lstm_backward_row(int64_t j0, int64_t j1, const float* __restrict gi,
                                     const float* __restrict gf, const float* __restrict gg,
                                     const float* __restrict go, const float* __restrict c,
                                     const float* __restrict cp, const float* __restrict dy,
                                     const float* __restrict dhl, float* __restrict dcl,
                                     float* __restrict di, float* __restrict df,
                                     float* __restrict dg, float* __restrict dout,
                                     double* __restrict db, int64_t H) {
  double* dbi = db;
  double* dbf = db + H;
  double* dbg = db + 2 * H;
  double* dbo = db + 3 * H;
  for (int64_t j = j0; j < j1; ++j) {
    const cm::LstmGrad<float> d =
        cm::lstm_backward<FastMath>(gi[j], gf[j], gg[j], go[j], c[j], cp[j], dy[j] + dhl[j], dcl[j]);
    di[j] = d.a_i;
    df[j] = d.a_f;
    dg[j] = d.a_g;
    dout[j] = d.a_o;
    dcl[j] = d.c_prev;
    dbi[j] += d.a_i;
    dbf[j] += d.a_f;
    dbg[j] += d.a_g;
    dbo[j] += d.a_o;
  }
}

void lstm_backward(const StepBackward& s) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    const float* w = s.ws + r * s.ld_ws;
    float* d = s.dgx + r * s.ld_dgx;
    lstm_backward_row(s.j0, s.j1, w, w + H, w + 2 * H, w + 3 * H, w + ws_c(H), w + ws_c_prev(H),
                      s.dy + r * s.ld_dy, s.dh + r * H, s.dc + r * H, d, d + H, d + 2 * H,
                      d + 3 * H, s.db_x, H);
  }
}

// ================================ GRU ==========================================================

static inline void gru_forward_row(int64_t j0, int64_t j1, float* __restrict gr,
                                   float* __restrict gz, float* __restrict gn,
                                   float* __restrict hn, const float* __restrict hp,
                                   float* __restrict y, const float* __restrict bias,
                                   const float* __restrict bhn, int64_t H) {
  const float* br = bias;
  const float* bz = bias + H;
  const float* bn = bias + 2 * H;
  for (int64_t j = j0; j < j1; ++j) {
    const float h_n = hn[j] + bhn[j];
    const cm::GruStep<float> st =
        cm::gru_forward<FastMath>(gr[j] + br[j], gz[j] + bz[j], gn[j] + bn[j], h_n, hp[j]);
    gr[j] = st.r;
    gz[j] = st.z;
    gn[j] = st.n;
    hn[j] = h_n;
    y[j] = st.h;
  }
}

void gru_forward(const StepForward& s) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    float* w = s.ws + r * s.ld_ws;
    float* y = s.y + r * s.ld_y;
    gru_forward_row(s.j0, s.j1, w, w + H, w + 2 * H, w + ws_hn(H), w + ws_h_prev(CellKind::GRU, H),
                    y, s.bias, s.bias_hn, H);
    if (r < s.next_rows)
      carry_row(y, s.next_ws + r * s.ld_ws + ws_h_prev(CellKind::GRU, H), s.j0, s.j1);
  }
}

static inline void gru_backward_row(int64_t j0, int64_t j1, const float* __restrict gr,
                                    const float* __restrict gz, const float* __restrict gn,
                                    const float* __restrict hn, const float* __restrict hp,
                                    const float* __restrict dy, float* __restrict dhl,
                                    float* __restrict dxr, float* __restrict dxz,
                                    float* __restrict dxn, float* __restrict dhr,
                                    float* __restrict dhz, float* __restrict dhn,
                                    double* __restrict dbx, double* __restrict dbh, int64_t H) {
  for (int64_t j = j0; j < j1; ++j) {
    const cm::GruGrad<float> d = cm::gru_backward(gr[j], gz[j], gn[j], hn[j], hp[j], dy[j] + dhl[j]);
    dxr[j] = d.a_r;
    dxz[j] = d.a_z;
    dxn[j] = d.a_n;
    dhr[j] = d.a_r;
    dhz[j] = d.a_z;
    dhn[j] = d.hn;
    dhl[j] = d.h_prev;
    dbx[j] += d.a_r;
    dbx[H + j] += d.a_z;
    dbx[2 * H + j] += d.a_n;
    dbh[j] += d.a_r;
    dbh[H + j] += d.a_z;
    dbh[2 * H + j] += d.hn;
  }
}

void gru_backward(const StepBackward& s) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    const float* w = s.ws + r * s.ld_ws;
    float* dx = s.dgx + r * s.ld_dgx;
    float* dhh = s.dgh + r * s.ld_dgh;
    gru_backward_row(s.j0, s.j1, w, w + H, w + 2 * H, w + ws_hn(H), w + ws_h_prev(CellKind::GRU, H),
                     s.dy + r * s.ld_dy, s.dh + r * H, dx, dx + H, dx + 2 * H, dhh, dhh + H,
                     dhh + 2 * H, s.db_x, s.db_h, H);
  }
}

// ================================ RNN ==========================================================

// One loop per activation, so each loop body is branch-free.
template <bool kRelu>
static inline void rnn_forward_row(int64_t j0, int64_t j1, float* __restrict a,
                                   float* __restrict y, const float* __restrict b) {
  for (int64_t j = j0; j < j1; ++j) {
    const float h = cm::rnn_forward<FastMath>(a[j] + b[j], kRelu);
    a[j] = h;
    y[j] = h;
  }
}

void rnn_forward(const StepForward& s, bool relu) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r) {
    float* y = s.y + r * s.ld_y;
    if (relu) {
      rnn_forward_row<true>(s.j0, s.j1, s.ws + r * s.ld_ws, y, s.bias);
    } else {
      rnn_forward_row<false>(s.j0, s.j1, s.ws + r * s.ld_ws, y, s.bias);
    }
    if (r < s.next_rows)
      carry_row(y, s.next_ws + r * s.ld_ws + ws_h_prev(CellKind::RNN_TANH, H), s.j0, s.j1);
  }
}

static inline void rnn_backward_row(int64_t j0, int64_t j1, const float* __restrict h,
                                    const float* __restrict dy, const float* __restrict dhl,
                                    float* __restrict da, double* __restrict db, bool relu) {
  for (int64_t j = j0; j < j1; ++j) {
    const float v = cm::rnn_backward(h[j], dy[j] + dhl[j], relu);
    da[j] = v;
    db[j] += v;
  }
}

void rnn_backward(const StepBackward& s, bool relu) {
  const int64_t H = s.hidden;
  for (int64_t r = 0; r < s.rows; ++r)
    rnn_backward_row(s.j0, s.j1, s.ws + r * s.ld_ws, s.dy + r * s.ld_dy, s.dh + r * H,
                     s.dgx + r * s.ld_dgx, s.db_x, relu);
}

// ================================ unfused forms ================================================
// Each line below is one element-wise op over the whole (rows x [j0, j1)) block, reading and
// writing memory, as a framework composing small kernels would run it.

namespace {

struct Plane {
  float* p;
  int64_t ld;
  float* row(int64_t r) const { return p + r * ld; }
};

struct Block {
  int64_t rows, j0, j1;
};

template <typename F>
void map1(const Block& b, Plane out, Plane x, F f) {
  for (int64_t r = 0; r < b.rows; ++r) {
    float* o = out.row(r);
    const float* xr = x.row(r);
    for (int64_t j = b.j0; j < b.j1; ++j) o[j] = f(xr[j]);
  }
}

template <typename F>
void map2(const Block& b, Plane out, Plane x, Plane y, F f) {
  for (int64_t r = 0; r < b.rows; ++r) {
    float* o = out.row(r);
    const float* xr = x.row(r);
    const float* yr = y.row(r);
    for (int64_t j = b.j0; j < b.j1; ++j) o[j] = f(xr[j], yr[j]);
  }
}

// out (rows, .) += bias (broadcast over rows)
void add_bias(const Block& b, Plane out, const float* bias) {
  for (int64_t r = 0; r < b.rows; ++r) {
    float* o = out.row(r);
    for (int64_t j = b.j0; j < b.j1; ++j) o[j] += bias[j];
  }
}

// db[j] += sum over rows of x[r][j]
void column_sums(const Block& b, Plane x, double* db) {
  for (int64_t r = 0; r < b.rows; ++r) {
    const float* xr = x.row(r);
    for (int64_t j = b.j0; j < b.j1; ++j) db[j] += xr[j];
  }
}

void copy_rows(const Block& b, int64_t rows, Plane dst, Plane src) {
  const Block c{rows, b.j0, b.j1};
  map1(c, dst, src, [](float v) { return v; });
}

// Plain arithmetic passes, and the cell maths' pieces (cell_math.h) as passes.
const auto add = [](float a, float b) { return a + b; };
const auto sub = [](float a, float b) { return a - b; };
const auto mul = [](float a, float b) { return a * b; };
const auto one_minus = [](float a) { return 1.0f - a; };
const auto sig_back = [](float g, float s) { return cm::sigmoid_back(g, s); };
const auto tanh_back = [](float g, float t) { return cm::tanh_back(g, t); };
const auto relu_back = [](float g, float h) { return cm::relu_back(g, h); };
const auto lstm_i = [](float a) { return cm::lstm_input_gate<FastMath>(a); };
const auto lstm_f = [](float a) { return cm::lstm_forget_gate<FastMath>(a); };
const auto lstm_g = [](float a) { return cm::lstm_candidate<FastMath>(a); };
const auto lstm_o = [](float a) { return cm::lstm_output_gate<FastMath>(a); };
const auto lstm_tc = [](float c) { return cm::lstm_cell_activation<FastMath>(c); };
const auto gru_r = [](float a) { return cm::gru_reset_gate<FastMath>(a); };
const auto gru_z = [](float a) { return cm::gru_update_gate<FastMath>(a); };
const auto gru_n = [](float a) { return cm::gru_new_gate<FastMath>(a); };
const auto rnn_tanh = [](float a) { return cm::rnn_forward<FastMath>(a, false); };
const auto rnn_relu = [](float a) { return cm::rnn_forward<FastMath>(a, true); };

Plane plane(float* scratch, int64_t scratch_rows, int64_t h, int k) {
  return Plane{scratch + static_cast<int64_t>(k) * scratch_rows * h, h};
}

}  // namespace

int unfused_planes(CellKind kind) {
  switch (kind) {
    case CellKind::LSTM: return 3;
    case CellKind::GRU: return 3;
    default: return 1;
  }
}

void lstm_forward_unfused(const StepForward& s) {
  const int64_t H = s.hidden, L = s.ld_ws;
  const Block b{s.rows, s.j0, s.j1};
  const Plane gi{s.ws, L}, gf{s.ws + H, L}, gg{s.ws + 2 * H, L}, go{s.ws + 3 * H, L};
  const Plane c{s.ws + ws_c(H), L}, cp{s.ws + ws_c_prev(H), L}, y{s.y, s.ld_y};
  const Plane t0 = plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = plane(s.scratch, s.scratch_rows, H, 2);
  add_bias(b, gi, s.bias);
  add_bias(b, gf, s.bias + H);
  add_bias(b, gg, s.bias + 2 * H);
  add_bias(b, go, s.bias + 3 * H);
  map1(b, gi, gi, lstm_i);
  map1(b, gf, gf, lstm_f);
  map1(b, gg, gg, lstm_g);
  map1(b, go, go, lstm_o);
  map2(b, t0, gf, cp, mul);  // f * c_prev
  map2(b, t1, gi, gg, mul);  // i * g
  map2(b, c, t0, t1, add);   // c'
  map1(b, t2, c, lstm_tc);   // tanh(c')
  map2(b, y, go, t2, mul);   // h'
  if (s.next_rows > 0) {
    copy_rows(b, s.next_rows, Plane{s.next_ws + ws_h_prev(CellKind::LSTM, H), L}, y);
    copy_rows(b, s.next_rows, Plane{s.next_ws + ws_c_prev(H), L}, c);
  }
}

void lstm_backward_unfused(const StepBackward& s) {
  const int64_t H = s.hidden, L = s.ld_ws, D = s.ld_dgx;
  const Block b{s.rows, s.j0, s.j1};
  float* ws = const_cast<float*>(s.ws);  // read only: Plane is a mutable view
  const Plane gi{ws, L}, gf{ws + H, L}, gg{ws + 2 * H, L}, go{ws + 3 * H, L};
  const Plane c{ws + ws_c(H), L}, cp{ws + ws_c_prev(H), L};
  const Plane dy{const_cast<float*>(s.dy), s.ld_dy}, dhl{s.dh, H}, dcl{s.dc, H};
  const Plane di{s.dgx, D}, df{s.dgx + H, D}, dg{s.dgx + 2 * H, D}, dout{s.dgx + 3 * H, D};
  const Plane dh = plane(s.scratch, s.scratch_rows, H, 0);
  const Plane tc = plane(s.scratch, s.scratch_rows, H, 1);
  const Plane dc = plane(s.scratch, s.scratch_rows, H, 2);
  map2(b, dh, dy, dhl, add);       // dh = dy + dh_later
  map1(b, tc, c, lstm_tc);         // tanh(c')
  map2(b, dout, dh, tc, mul);      // d o
  map2(b, dc, dh, go, mul);        // d tanh(c')
  map2(b, dc, dc, tc, tanh_back);  // through tanh
  map2(b, dc, dc, dcl, add);       // + dc_later
  map2(b, di, dc, gg, mul);        // d i
  map2(b, dg, dc, gi, mul);        // d g
  map2(b, df, dc, cp, mul);        // d f
  map2(b, dcl, dc, gf, mul);       // dc_prev
  map2(b, di, di, gi, sig_back);
  map2(b, df, df, gf, sig_back);
  map2(b, dg, dg, gg, tanh_back);
  map2(b, dout, dout, go, sig_back);
  column_sums(b, di, s.db_x);
  column_sums(b, df, s.db_x + H);
  column_sums(b, dg, s.db_x + 2 * H);
  column_sums(b, dout, s.db_x + 3 * H);
}

void gru_forward_unfused(const StepForward& s) {
  const int64_t H = s.hidden, L = s.ld_ws;
  const Block b{s.rows, s.j0, s.j1};
  const Plane gr{s.ws, L}, gz{s.ws + H, L}, gn{s.ws + 2 * H, L}, hn{s.ws + ws_hn(H), L};
  const Plane hp{s.ws + ws_h_prev(CellKind::GRU, H), L}, y{s.y, s.ld_y};
  const Plane t0 = plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = plane(s.scratch, s.scratch_rows, H, 2);
  add_bias(b, gr, s.bias);
  add_bias(b, gz, s.bias + H);
  add_bias(b, gn, s.bias + 2 * H);
  add_bias(b, hn, s.bias_hn);
  map1(b, gr, gr, gru_r);
  map1(b, gz, gz, gru_z);
  map2(b, t0, gr, hn, mul);  // r * hn
  map2(b, gn, gn, t0, add);
  map1(b, gn, gn, gru_n);    // n
  map1(b, t1, gz, one_minus);
  map2(b, t1, t1, gn, mul);  // (1 - z) n
  map2(b, t2, gz, hp, mul);  // z h_prev
  map2(b, y, t1, t2, add);   // h'
  if (s.next_rows > 0)
    copy_rows(b, s.next_rows, Plane{s.next_ws + ws_h_prev(CellKind::GRU, H), L}, y);
}

void gru_backward_unfused(const StepBackward& s) {
  const int64_t H = s.hidden, L = s.ld_ws, D = s.ld_dgx, E = s.ld_dgh;
  const Block b{s.rows, s.j0, s.j1};
  float* ws = const_cast<float*>(s.ws);
  const Plane gr{ws, L}, gz{ws + H, L}, gn{ws + 2 * H, L}, hn{ws + ws_hn(H), L};
  const Plane hp{ws + ws_h_prev(CellKind::GRU, H), L};
  const Plane dy{const_cast<float*>(s.dy), s.ld_dy}, dhl{s.dh, H};
  const Plane dxr{s.dgx, D}, dxz{s.dgx + H, D}, dxn{s.dgx + 2 * H, D};
  const Plane dhr{s.dgh, E}, dhz{s.dgh + H, E}, dhn{s.dgh + 2 * H, E};
  const Plane dh = plane(s.scratch, s.scratch_rows, H, 0);
  const Plane t1 = plane(s.scratch, s.scratch_rows, H, 1);
  const Plane t2 = plane(s.scratch, s.scratch_rows, H, 2);
  map2(b, dh, dy, dhl, add);        // dh
  map1(b, t1, gz, one_minus);
  map2(b, t1, dh, t1, mul);         // dn = dh (1 - z)
  map2(b, t2, hp, gn, sub);
  map2(b, t2, dh, t2, mul);         // dz = dh (h_prev - n)
  map2(b, dhl, dh, gz, mul);        // direct dh_prev = dh z
  map2(b, dxn, t1, gn, tanh_back);  // da_n
  map2(b, dxr, dxn, hn, mul);       // dr
  map2(b, dxr, dxr, gr, sig_back);  // da_r
  map2(b, dxz, t2, gz, sig_back);   // da_z
  map2(b, dhr, dxr, dxr, [](float a, float) { return a; });
  map2(b, dhz, dxz, dxz, [](float a, float) { return a; });
  map2(b, dhn, dxn, gr, mul);       // recurrent side of n
  column_sums(b, dxr, s.db_x);
  column_sums(b, dxz, s.db_x + H);
  column_sums(b, dxn, s.db_x + 2 * H);
  column_sums(b, dhr, s.db_h);
  column_sums(b, dhz, s.db_h + H);
  column_sums(b, dhn, s.db_h + 2 * H);
}

void rnn_forward_unfused(const StepForward& s, bool relu) {
  const int64_t H = s.hidden, L = s.ld_ws;
  const Block b{s.rows, s.j0, s.j1};
  const Plane a{s.ws, L}, y{s.y, s.ld_y};
  add_bias(b, a, s.bias);
  if (relu) {
    map1(b, a, a, rnn_relu);
  } else {
    map1(b, a, a, rnn_tanh);
  }
  copy_rows(b, s.rows, y, a);
  if (s.next_rows > 0)
    copy_rows(b, s.next_rows, Plane{s.next_ws + ws_h_prev(CellKind::RNN_TANH, H), L}, y);
}

void rnn_backward_unfused(const StepBackward& s, bool relu) {
  const int64_t H = s.hidden;
  const Block b{s.rows, s.j0, s.j1};
  const Plane h{const_cast<float*>(s.ws), s.ld_ws};
  const Plane dy{const_cast<float*>(s.dy), s.ld_dy}, dhl{s.dh, H}, da{s.dgx, s.ld_dgx};
  const Plane dh = plane(s.scratch, s.scratch_rows, H, 0);
  map2(b, dh, dy, dhl, add);
  if (relu) {
    map2(b, da, dh, h, relu_back);
  } else {
    map2(b, da, dh, h, tanh_back);
  }
  column_sums(b, da, s.db_x);
}

// ================================ dispatch =====================================================

void step_forward(CellKind kind, bool fused, const StepForward& s) {
  switch (kind) {
    case CellKind::LSTM: fused ? lstm_forward(s) : lstm_forward_unfused(s); return;
    case CellKind::GRU: fused ? gru_forward(s) : gru_forward_unfused(s); return;
    case CellKind::RNN_TANH: fused ? rnn_forward(s, false) : rnn_forward_unfused(s, false); return;
    case CellKind::RNN_RELU: fused ? rnn_forward(s, true) : rnn_forward_unfused(s, true); return;
  }
  fail(code::kInternal, "cells: unknown cell kind");
}

void step_backward(CellKind kind, bool fused, const StepBackward& s) {
  switch (kind) {
    case CellKind::LSTM: fused ? lstm_backward(s) : lstm_backward_unfused(s); return;
    case CellKind::GRU: fused ? gru_backward(s) : gru_backward_unfused(s); return;
    case CellKind::RNN_TANH: fused ? rnn_backward(s, false) : rnn_backward_unfused(s, false); return;
    case CellKind::RNN_RELU: fused ? rnn_backward(s, true) : rnn_backward_unfused(s, true); return;
  }
  fail(code::kInternal, "cells: unknown cell kind");
}

}  // namespace cells
}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
