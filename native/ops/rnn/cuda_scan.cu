// One recurrent layer over a packed batch on the GPU, forward and backward, in the structure of
// the CPU scan (ops/rnn/cpu_scan.cpp) and of cuDNN / haste:
//
// Forward:
//   1. one cuBLAS GEMM for the input projection of all N rows, into the gate slots of the
//      workspace:  ws[:, gates] = x W_ih^T
//   2. the initial states of the first walk step (one small kernel);
//   3. per walk step, on the step's active rows only: the recurrent GEMM
//        gh (rows, G*H) = h_prev (rows, H) W_hh^T   (h_prev read in place from the workspace)
//      and one fused kernel (cells.cu) that finishes the gates, writes h' / c', carries them to
//      the next step's slots, starts the rows that begin at the next step and stores the final
//      states of the rows that end here.
// Backward, walking the steps in reverse order of the forward walk:
//   per step: the recurrent GEMM of the step after (in walk order), dh[0:after] (+)= dG_h W_hh,
//   then the fused cell backward (dG rows of this step, dc, GRU's direct dh term);
//   after the walk: dh0 from the first step, then the weight gradients as large GEMMs over all N
//   rows (dx = dG_x W_ih, dW_ih = dG_x^T x, dW_hh = dG_h^T H_prev) and the bias gradients as
//   column sums of dG_x / dG_h.
// Nothing is allocated inside the time loop and the host never waits: T steps cost 2T launches.
#include <algorithm>
#include <vector>

#include "packed_walk.h"
#include "cuda/backend_class.h"
#include "cuda_cells.cuh"
#include "cuda/context.cuh"
#include "cuda/reduce.cuh"

namespace rnnlm::cuda {

namespace {

using Walk = cellmath::PackedWalk;

}  // namespace

LayerForward CudaBackend::rnn_layer_forward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights,
                                            const Tensor& h0, const Tensor& c0) {
  const CellKind kind = spec.cell;
  const bool lstm = kind == CellKind::LSTM, gru = kind == CellKind::GRU;
  const int64_t H = weights.w_hh.dim(1), GH = gate_count(kind) * H, In = x.dim(1);
  const int64_t W = workspace_floats_per_row(kind, H);
  const Walk walk(spec.batch_sizes, spec.reverse);
  const int64_t N = walk.N, B = walk.B, T = walk.T;
  const int64_t hp = ws_h_prev(kind, H);
  cudaStream_t st = stream();

  LayerForward out;
  out.y = empty({N, H}, DType::F32);
  out.h_n = empty({B, H}, DType::F32);
  if (lstm) out.c_n = empty({B, H}, DType::F32);
  out.workspace = empty({N, W}, DType::F32);
  float* ws = out.workspace.f32();

  // 1. input projection into the gate slots: ws[:, 0:GH] = x (N, In) W_ih^T (In, GH)
  sgemm(false, true, N, GH, In, 1.0f, x.f32(), In, weights.w_ih.f32(), In, 0.0f, ws, W);

  Tensor bias, bias_hn, gh, scratch;
  if (weights.b_ih.defined()) {
    bias = empty({GH}, DType::F32);
    bias_hn = empty({H}, DType::F32);
    fold_biases(kind, H, weights.b_ih.f32(), weights.b_hh.f32(), bias.f32(), bias_hn.f32(), st);
  }
  gh = empty({B, GH}, DType::F32);
  if (!spec.fused) scratch = empty({unfused_planes(kind) * B * H}, DType::F32);

  StepForward base;
  base.hidden = H;
  base.ld_ws = W;
  base.gh = gh.f32();
  base.bias = bias.defined() ? bias.f32() : nullptr;
  base.bias_hn = gru && bias_hn.defined() ? bias_hn.f32() : nullptr;
  base.h0 = h0.defined() ? h0.f32() : nullptr;
  base.c0 = lstm && c0.defined() ? c0.f32() : nullptr;
  base.h_n = out.h_n.f32();
  base.c_n = lstm ? out.c_n.f32() : nullptr;
  base.scratch = scratch.defined() ? scratch.f32() : nullptr;
  base.scratch_rows = B;

  // 2. the first step's initial states: a step with no rows of its own
  if (T > 0) {
    StepForward init = base;
    init.rows = 0;
    init.next_bs = walk.rows(0);
    init.next_ws = ws + walk.first(0) * W;
    step_forward(kind, true, init, st);
  }

  // 3. the time loop
  for (int64_t s = 0; s < T; ++s) {
    const int64_t rows = walk.rows(s);
    float* step_ws = ws + walk.first(s) * W;
    // gh (rows, GH) = h_prev (rows, H), read in place with row stride W, times W_hh^T (H, GH)
    sgemm(false, true, rows, GH, H, 1.0f, step_ws + hp, W, weights.w_hh.f32(), H, 0.0f, gh.f32(), GH);
    StepForward step = base;
    step.rows = rows;
    step.next_bs = walk.rows(s + 1);
    step.ws = step_ws;
    step.y = out.y.f32() + walk.first(s) * H;
    step.next_ws = s + 1 < T ? ws + walk.first(s + 1) * W : nullptr;
    step_forward(kind, spec.fused, step, st);
  }
  return out;
}

// h0 / c0 enter only through the workspace's h_prev / c_prev slots, already filled by forward.
LayerGradients CudaBackend::rnn_layer_backward(const LayerSpec& spec, const Tensor& x, const LayerWeights& weights,
                                               const Tensor& /*h0*/, const Tensor& /*c0*/, const LayerForward& forward,
                                               const Tensor& dy, const Tensor& dh_n, const Tensor& dc_n) {
  const CellKind kind = spec.cell;
  const bool lstm = kind == CellKind::LSTM, gru = kind == CellKind::GRU;
  const int64_t H = weights.w_hh.dim(1), GH = gate_count(kind) * H, In = x.dim(1);
  const int64_t W = workspace_floats_per_row(kind, H);
  const Walk walk(spec.batch_sizes, spec.reverse);
  const int64_t N = walk.N, B = walk.B, T = walk.T;
  const float* ws = forward.workspace.f32();
  cudaStream_t st = stream();

  LayerGradients grads;
  grads.dx = empty({N, In}, DType::F32);
  grads.dh0 = empty({B, H}, DType::F32);
  if (lstm) grads.dc0 = empty({B, H}, DType::F32);
  grads.dw_ih = empty({GH, In}, DType::F32);
  grads.dw_hh = empty({GH, H}, DType::F32);
  const bool has_bias = weights.b_ih.defined();
  // dG_x (N, GH); GRU keeps dG_h apart (its n block is scaled by r), the others share it.
  Tensor dgx_t = empty({N, GH}, DType::F32);
  Tensor dgh_t = gru ? empty({N, GH}, DType::F32) : dgx_t;
  Tensor scratch;
  if (!spec.fused) scratch = empty({unfused_planes(kind) * B * H}, DType::F32);
  float* dgx = dgx_t.f32();
  float* dgh = dgh_t.f32();
  // dh / dc carried between steps; after the walk they hold dh0 / dc0.
  float* dh = grads.dh0.f32();
  float* dc = lstm ? grads.dc0.f32() : nullptr;
  // GRU's cell leaves the direct term dh * z in dh for the GEMM to add to; LSTM / RNN have none.
  const float gemm_beta = gru ? 1.0f : 0.0f;
  const float* w_hh = weights.w_hh.f32();

  StepBackward base;
  base.hidden = H;
  base.ld_ws = W;
  base.dh = dh;
  base.dc = dc;
  base.dh_n = dh_n.defined() ? dh_n.f32() : nullptr;
  base.dc_n = lstm && dc_n.defined() ? dc_n.f32() : nullptr;
  base.scratch = scratch.defined() ? scratch.f32() : nullptr;
  base.scratch_rows = B;

  for (int64_t s = T - 1; s >= 0; --s) {
    const int64_t rows = walk.rows(s), after = walk.rows(s + 1);
    // dh_prev of the step after, for the rows it had: dh[0:after] (+)= dG_h (after, GH) W_hh (GH, H)
    if (after > 0)
      sgemm(false, false, after, H, GH, 1.0f, dgh + walk.first(s + 1) * GH, GH, w_hh, H, gemm_beta, dh, H);
    StepBackward step = base;
    step.rows = rows;
    step.carried = std::min(after, rows);
    step.ws = ws + walk.first(s) * W;
    step.dy = dy.f32() + walk.first(s) * H;
    step.dgx = dgx + walk.first(s) * GH;
    step.dgh = dgh + walk.first(s) * GH;
    step_backward(kind, spec.fused, step, st);
  }
  // dh_prev of the first walk step: into dh0 for every row
  if (T > 0) sgemm(false, false, walk.rows(0), H, GH, 1.0f, dgh + walk.first(0) * GH, GH, w_hh, H, gemm_beta, dh, H);

  //   dx (N, In) = dG_x (N, GH) W_ih (GH, In)
  sgemm(false, false, N, In, GH, 1.0f, dgx, GH, weights.w_ih.f32(), In, 0.0f, grads.dx.f32(), In);
  //   dW_ih (GH, In) = dG_x^T (GH, N) x (N, In)
  sgemm(true, false, GH, In, N, 1.0f, dgx, GH, x.f32(), In, 0.0f, grads.dw_ih.f32(), In);
  //   dW_hh (GH, H) = dG_h^T (GH, N) H_prev (N, H), H_prev read in place from the workspace
  sgemm(true, false, GH, H, N, 1.0f, dgh, GH, ws + ws_h_prev(kind, H), W, 0.0f, grads.dw_hh.f32(), H);
  if (has_bias) {
    grads.db_ih = empty({GH}, DType::F32);
    column_sums(dgx, N, GH, GH, grads.db_ih.f32(), st);
    if (gru) {
      grads.db_hh = empty({GH}, DType::F32);
      column_sums(dgh, N, GH, GH, grads.db_hh.f32(), st);
    } else {
      grads.db_hh = clone(grads.db_ih);
    }
  }
  return grads;
}

}  // namespace rnnlm::cuda
