// One recurrent layer over a packed batch, forward and backward (cuDNN / Appleyard et al. 2016
// / haste structure, extended to packed sequences and both directions).
//
// Forward:
//   1. one GEMM for the input projection of all N rows, written straight into the gate slots of
//      the workspace:  ws[:, gates] = x W_ih^T                                  (N, G*H)
//   2. per time step, on the step's active rows only, one parallel pass in which each thread
//      owns a range of hidden units and runs, back to back,
//        the recurrent GEMM for its gate columns:  ws[rows, gates] += h_prev W_hh^T
//        the fused cell for its units (biases added there; h', c' carried to the next step's
//        h_prev / c_prev slots)
//      so a step costs one hand-off of the pool, and W_hh is packed once (cpu_recurrent_gemm.h).
//   The workspace keeps h_prev (and c_prev) for every row: the recurrent GEMM reads its left
//   operand there in place, and the backward reads it for dW_hh.
//
// Backward (walking the steps in reverse order of the forward walk):
//   per step, one parallel pass in which each thread owns a range of hidden units and runs
//     the recurrent GEMM of the step after (in walk order) for its dh columns:
//        dh[rows', units] (+)= dG_h(step after) W_hh[:, units]
//     the fused cell backward for its units: dG rows of this step, dc, db column sums
//   then, after the walk, the weight gradients as large GEMMs over all N rows:
//        dx = dG_x W_ih,  dW_ih = dG_x^T x,  dW_hh = dG_h^T H_prev
//   (dG_h = dG_x except for the GRU n block, which the recurrent side sees times r).
//
// Packed layout: step t holds rows [off_t, off_t + bs_t) (bs non-increasing). The forward walk
// visits t = 0..T-1 (reverse: T-1..0); at walk step s, row b takes its state from walk step
// s-1 when b < bs(s-1), else from h0; its state goes on to walk step s+1 when b < bs(s+1),
// else it is final (h_n). Everything is allocated before the time loop.
#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "bias_fold.h"
#include "packed_walk.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "cpu_cells.h"
#include "cpu/gemm.h"
#include "cpu/isa_variant.h"
#include "cpu_recurrent_gemm.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: compiled once per CPU kernel variant

namespace {

// Below this many multiply-adds a step runs on the calling thread: waking a worker costs a few
// microseconds, more than it saves on a small step.
constexpr int64_t kParallelStepMacs = int64_t{1} << 18;

using Walk = cellmath::PackedWalk;

// How many threads share a step: one per pool thread, unless the step is too small.
int64_t step_slices(int64_t rows, int64_t gates, int64_t hidden, const RecurrentGemm& g) {
  const int64_t macs = rows * gates * hidden * hidden;
  if (macs < kParallelStepMacs) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(num_threads(), g.blocks()));
}

// Runs body(p0, p1) on `slices` contiguous ranges of hidden-unit blocks, one per thread; the
// return is the step's only synchronisation.
void run_slices(int64_t slices, const RecurrentGemm& g,
                const std::function<void(int64_t p0, int64_t p1)>& body) {
  const int64_t blocks = g.blocks();
  if (slices <= 1) {
    body(0, blocks);
    return;
  }
  parallel_for(slices, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) body(blocks * c / slices, blocks * (c + 1) / slices);
  });
}

// Row copies of (rows, H) blocks between differently strided matrices, or zeros when src is null.
void copy_rows(int64_t rows, int64_t h, const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
  for (int64_t r = 0; r < rows; ++r) {
    if (src != nullptr) {
      std::memcpy(dst + r * ld_dst, src + r * ld_src, sizeof(float) * h);
    } else {
      std::memset(dst + r * ld_dst, 0, sizeof(float) * h);
    }
  }
}

// The biases as the cells consume them (cells/bias_fold.h); zeros for a layer without biases.
void fold_biases(CellKind kind, int64_t gh, int64_t h, const LayerWeights& w,
                 std::vector<float>& bias, std::vector<float>& bias_hn) {
  bias.assign(gh, 0.0f);
  bias_hn.assign(h, 0.0f);
  if (!w.b_ih.defined()) return;
  const float* bi = w.b_ih.f32();
  const float* bh = w.b_hh.f32();
  for (int64_t j = 0; j < gh; ++j) bias[j] = cellmath::folded_bias(kind, h, j, bi, bh);
  if (kind == CellKind::GRU)
    for (int64_t j = 0; j < h; ++j) bias_hn[j] = cellmath::folded_bias_hn(h, j, bh);
}

}  // namespace

LayerForward VariantOps::rnn_layer_forward(const LayerSpec& spec, const Tensor& x,
                                           const LayerWeights& weights, const Tensor& h0,
                                           const Tensor& c0) {
  const CellKind kind = spec.cell;
  const bool lstm = kind == CellKind::LSTM, gru = kind == CellKind::GRU;
  const int gates = gate_count(kind);
  const int64_t H = weights.w_hh.dim(1), GH = gates * H, In = x.dim(1);
  const int64_t W = workspace_floats_per_row(kind, H);
  const Walk walk(spec.batch_sizes, spec.reverse);
  const int64_t N = walk.N, B = walk.B, T = walk.T;
  const int64_t hp_off = cells::ws_h_prev(kind, H);

  LayerForward out;
  out.y = empty({N, H}, DType::F32);
  out.h_n = empty({B, H}, DType::F32);
  if (lstm) out.c_n = empty({B, H}, DType::F32);
  out.workspace = empty({N, W}, DType::F32);
  float* ws = out.workspace.f32();
  float* y = out.y.f32();

  // 1. input projection into the gate slots: ws[:, 0:GH] = x (N, In) W_ih^T (In, GH)
  sgemm(false, true, N, GH, In, 1.0f, x.f32(), In, weights.w_ih.f32(), In, 0.0f, ws, W);

  std::vector<float> bias, bias_hn;
  fold_biases(kind, GH, H, weights, bias, bias_hn);

  // Rows that start at walk step s (b in [bs(s-1), bs(s)), forward: all at s = 0; reverse: as
  // the batch grows) read h0 / c0 (zeros when absent) from their h_prev / c_prev slots.
  const float* ph0 = h0.defined() ? h0.f32() : nullptr;
  const float* pc0 = c0.defined() ? c0.f32() : nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t b0 = walk.prev_rows(s), b1 = walk.bs[s];
    if (b1 <= b0) continue;
    float* row0 = ws + (walk.off[s] + b0) * W;
    copy_rows(b1 - b0, H, ph0 ? ph0 + b0 * H : nullptr, H, row0 + hp_off, W);
    if (lstm) copy_rows(b1 - b0, H, pc0 ? pc0 + b0 * H : nullptr, H, row0 + cells::ws_c_prev(H), W);
  }

  RecurrentGemm rgemm;
  rgemm.pack_forward(weights.w_hh.f32(), gates, H);
  // Where each gate's recurrent part goes: onto the input projection (beta 1), except GRU's n
  // block, which the cell needs on its own (W_hn h, beta 0, into the hn slot).
  int64_t gate_offset[4];
  float gate_beta[4];
  for (int g = 0; g < gates; ++g) {
    gate_offset[g] = g * H;
    gate_beta[g] = 1.0f;
  }
  if (gru) {
    gate_offset[2] = cells::ws_hn(H);
    gate_beta[2] = 0.0f;
  }

  std::vector<float> scratch;
  if (!spec.fused) scratch.assign(static_cast<size_t>(cells::unfused_planes(kind) * B * H), 0.0f);

  // 2. the time loop
  for (int64_t s = 0; s < T; ++s) {
    const int64_t rows = walk.bs[s];
    float* step_ws = ws + walk.off[s] * W;
    cells::StepForward st;
    st.rows = rows;
    st.hidden = H;
    st.ws = step_ws;
    st.ld_ws = W;
    st.bias = bias.data();
    st.bias_hn = bias_hn.data();
    st.y = y + walk.off[s] * H;
    st.ld_y = H;
    if (s + 1 < T) {
      st.next_ws = ws + walk.off[s + 1] * W;
      st.next_rows = std::min(rows, walk.bs[s + 1]);
    }
    st.scratch = scratch.data();
    st.scratch_rows = B;
    const int64_t slices = step_slices(rows, gates, H, rgemm);
    run_slices(slices, rgemm, [&](int64_t p0, int64_t p1) {
      rgemm.forward(p0, p1, rows, step_ws + hp_off, W, step_ws, W, gate_offset, gate_beta);
      cells::StepForward mine = st;
      mine.j0 = rgemm.block_begin(p0);
      mine.j1 = p1 > p0 ? rgemm.block_end(p1 - 1) : mine.j0;
      cells::step_forward(kind, spec.fused, mine);
    });
  }

  // 3. final states: row b ends at the walk step after which it is no longer active
  float* hn = out.h_n.f32();
  float* cn = lstm ? out.c_n.f32() : nullptr;
  for (int64_t s = 0; s < T; ++s) {
    const int64_t b0 = std::min(walk.bs[s + 1], walk.bs[s]), b1 = walk.bs[s];
    if (b1 <= b0) continue;
    copy_rows(b1 - b0, H, y + (walk.off[s] + b0) * H, H, hn + b0 * H, H);
    if (lstm) copy_rows(b1 - b0, H, ws + (walk.off[s] + b0) * W + cells::ws_c(H), W, cn + b0 * H, H);
  }
  return out;
}

// h0 / c0 enter only through the workspace's h_prev / c_prev slots, already filled by forward.
LayerGradients VariantOps::rnn_layer_backward(const LayerSpec& spec, const Tensor& x,
                                              const LayerWeights& weights, const Tensor& /*h0*/,
                                              const Tensor& /*c0*/, const LayerForward& forward,
                                              const Tensor& dy, const Tensor& dh_n,
                                              const Tensor& dc_n) {
  const CellKind kind = spec.cell;
  const bool lstm = kind == CellKind::LSTM, gru = kind == CellKind::GRU;
  const int gates = gate_count(kind);
  const int64_t H = weights.w_hh.dim(1), GH = gates * H, In = x.dim(1);
  const int64_t W = workspace_floats_per_row(kind, H);
  const Walk walk(spec.batch_sizes, spec.reverse);
  const int64_t N = walk.N, B = walk.B, T = walk.T;
  const float* ws = forward.workspace.f32();

  LayerGradients grads;
  grads.dx = empty({N, In}, DType::F32);
  grads.dh0 = empty({B, H}, DType::F32);
  if (lstm) grads.dc0 = empty({B, H}, DType::F32);
  grads.dw_ih = empty({GH, In}, DType::F32);
  grads.dw_hh = empty({GH, H}, DType::F32);
  const bool has_bias = weights.b_ih.defined();
  if (has_bias) {
    grads.db_ih = empty({GH}, DType::F32);
    grads.db_hh = empty({GH}, DType::F32);
  }
  // dG_x (N, G*H); GRU keeps dG_h apart (its n block is scaled by r), others share it.
  Tensor dgx_t = empty({N, GH}, DType::F32);
  Tensor dgh_t = gru ? empty({N, GH}, DType::F32) : dgx_t;
  float* dgx = dgx_t.f32();
  float* dgh = dgh_t.f32();
  // dh / dc carried between steps; after the walk they hold dh0 / dc0 (every row's last
  // update is the gradient of its initial state).
  float* dh = grads.dh0.f32();
  float* dc = lstm ? grads.dc0.f32() : nullptr;
  std::vector<double> db_x(GH, 0.0), db_h(gru ? GH : 0, 0.0);

  RecurrentGemm rgemm;
  rgemm.pack_backward(weights.w_hh.f32(), gates, H);
  // GRU's cell leaves the direct term dh * z in dh for the GEMM to add to; LSTM / RNN have none.
  const float gemm_beta = gru ? 1.0f : 0.0f;

  std::vector<float> scratch;
  if (!spec.fused) scratch.assign(static_cast<size_t>(cells::unfused_planes(kind) * B * H), 0.0f);

  const float* pdy = dy.f32();
  const float* pdhn = dh_n.defined() ? dh_n.f32() : nullptr;
  const float* pdcn = dc_n.defined() ? dc_n.f32() : nullptr;

  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t rows = walk.bs[s];
    // rows [carried, rows) are at their final step: their dh (dc) is dh_n (dc_n)
    const int64_t after = s + 1 < T ? walk.bs[s + 1] : 0;
    const int64_t carried = std::min(after, rows);
    cells::StepBackward st;
    st.rows = rows;
    st.hidden = H;
    st.ws = ws + walk.off[s] * W;
    st.ld_ws = W;
    st.dy = pdy + walk.off[s] * H;
    st.ld_dy = H;
    st.dh = dh;
    st.dc = dc;
    st.dgx = dgx + walk.off[s] * GH;
    st.ld_dgx = GH;
    st.dgh = dgh + walk.off[s] * GH;
    st.ld_dgh = GH;
    st.db_x = db_x.data();
    st.db_h = gru ? db_h.data() : nullptr;
    st.scratch = scratch.data();
    st.scratch_rows = B;
    const float* dg_after = s + 1 < T ? dgh + walk.off[s + 1] * GH : nullptr;
    const int64_t slices = step_slices(std::max(rows, after), gates, H, rgemm);
    run_slices(slices, rgemm, [&](int64_t p0, int64_t p1) {
      const int64_t j0 = rgemm.block_begin(p0), j1 = p1 > p0 ? rgemm.block_end(p1 - 1) : j0;
      // dh_prev of the step after, for the rows it had: dh[0:after] (+)= dG_h W_hh
      if (after > 0) rgemm.backward(p0, p1, after, dg_after, GH, dh, H, gemm_beta);
      for (int64_t b = carried; b < rows; ++b) {
        float* dhb = dh + b * H;
        for (int64_t j = j0; j < j1; ++j) dhb[j] = pdhn ? pdhn[b * H + j] : 0.0f;
        if (lstm) {
          float* dcb = dc + b * H;
          for (int64_t j = j0; j < j1; ++j) dcb[j] = pdcn ? pdcn[b * H + j] : 0.0f;
        }
      }
      cells::StepBackward mine = st;
      mine.j0 = j0;
      mine.j1 = j1;
      cells::step_backward(kind, spec.fused, mine);
    });
  }
  // dh_prev of the first walk step (into dh0 for every row)
  if (T > 0) {
    const int64_t rows = walk.bs[0];
    const float* dg0 = dgh + walk.off[0] * GH;
    run_slices(step_slices(rows, gates, H, rgemm), rgemm, [&](int64_t p0, int64_t p1) {
      rgemm.backward(p0, p1, rows, dg0, GH, dh, H, gemm_beta);
    });
  }

  // Weight gradients and dx as large GEMMs over all N rows.
  //   dx (N, In) = dG_x (N, GH) W_ih (GH, In)
  sgemm(false, false, N, In, GH, 1.0f, dgx, GH, weights.w_ih.f32(), In, 0.0f, grads.dx.f32(), In);
  //   dW_ih (GH, In) = dG_x^T (GH, N) x (N, In)
  sgemm(true, false, GH, In, N, 1.0f, dgx, GH, x.f32(), In, 0.0f, grads.dw_ih.f32(), In);
  //   dW_hh (GH, H) = dG_h^T (GH, N) H_prev (N, H), H_prev read in place from the workspace
  sgemm(true, false, GH, H, N, 1.0f, dgh, GH, ws + cells::ws_h_prev(kind, H), W, 0.0f,
        grads.dw_hh.f32(), H);
  if (has_bias) {
    float* dbi = grads.db_ih.f32();
    float* dbh = grads.db_hh.f32();
    for (int64_t j = 0; j < GH; ++j) {
      dbi[j] = static_cast<float>(db_x[j]);
      dbh[j] = static_cast<float>(gru ? db_h[j] : db_x[j]);
    }
  }
  return grads;
}

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
