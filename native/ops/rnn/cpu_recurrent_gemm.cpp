// Packed-W_hh GEMMs for the scan's time steps (see recurrent_gemm.h).
//
// Forward panels: for block p and gate g, the K = H rows of W_hh^T restricted to the columns
// g*H + p*kNR + [0, kNR), i.e. panel[k][j] = W_hh[g*H + p*kNR + j][k] (zero past H).
// Backward panels: for block p, panel[k][j] = W_hh[k][p*kNR + j] for k < G*H.
#include "cpu_recurrent_gemm.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "cpu/gemm_kernel.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {

using kernel::kNR;

namespace {
thread_local kernel::PackBuffer t_forward_panels;
thread_local kernel::PackBuffer t_backward_panels;
}  // namespace

int64_t RecurrentGemm::block_begin(int64_t block) const { return block * kNR; }
int64_t RecurrentGemm::block_end(int64_t block) const {
  return std::min(hidden_, (block + 1) * kNR);
}

void RecurrentGemm::pack_forward(const float* w_hh, int gates, int64_t hidden) {
  gates_ = gates;
  hidden_ = hidden;
  blocks_ = (hidden + kNR - 1) / kNR;
  const int64_t k = hidden, panel = k * kNR;
  float* dst = t_forward_panels.get(static_cast<size_t>(blocks_ * gates * panel));
  packed_ = dst;
  // Panels are independent; the transposing copy is spread over the pool.
  parallel_for(blocks_ * gates, 4, [=](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t p = q / gates, g = q % gates;
      const int nr = static_cast<int>(std::min<int64_t>(kNR, hidden - p * kNR));
      // op(B) = W_hh^T restricted to gate g: element (k, j) at w_hh[(g*H + j) * H + k].
      kernel::pack_b_panel(true, w_hh + g * hidden * hidden, hidden, 0, k, p * kNR, nr,
                           dst + q * panel);
    }
  });
}

void RecurrentGemm::pack_backward(const float* w_hh, int gates, int64_t hidden) {
  gates_ = gates;
  hidden_ = hidden;
  blocks_ = (hidden + kNR - 1) / kNR;
  const int64_t k = gates * hidden, panel = k * kNR;
  float* dst = t_backward_panels.get(static_cast<size_t>(blocks_ * panel));
  packed_ = dst;
  parallel_for(blocks_, 2, [=](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int nr = static_cast<int>(std::min<int64_t>(kNR, hidden - p * kNR));
      kernel::pack_b_panel(false, w_hh, hidden, 0, k, p * kNR, nr, dst + p * panel);
    }
  });
}

void RecurrentGemm::forward(int64_t p0, int64_t p1, int64_t rows, const float* h, int64_t ldh,
                            float* out, int64_t ld_out, const int64_t* gate_offset,
                            const float* gate_beta) const {
  const int64_t k = hidden_, panel = k * kNR, tiles = kernel::row_tiles(rows);
  for (int64_t p = p0; p < p1; ++p) {
    const int nr = static_cast<int>(block_end(p) - block_begin(p));
    for (int g = 0; g < gates_; ++g) {
      const float* bp = packed_ + (p * gates_ + g) * panel;
      float* c = out + gate_offset[g] + p * kNR;
      // The panel (K x kNR) stays in L1/L2 while every row tile of the state streams past it.
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t i = rows * t / tiles;
        const int mr = static_cast<int>(rows * (t + 1) / tiles - i);
        kernel::micro_kernel_rows(mr, k, h + i * ldh, ldh, bp, nr, 1.0f, gate_beta[g],
                                  c + i * ld_out, ld_out);
      }
    }
  }
}

void RecurrentGemm::backward(int64_t p0, int64_t p1, int64_t rows, const float* dg, int64_t ld_dg,
                             float* dh, int64_t ld_dh, float beta) const {
  const int64_t k = gates_ * hidden_, panel = k * kNR, tiles = kernel::row_tiles(rows);
  for (int64_t p = p0; p < p1; ++p) {
    const int nr = static_cast<int>(block_end(p) - block_begin(p));
    const float* bp = packed_ + p * panel;
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t i = rows * t / tiles;
      const int mr = static_cast<int>(rows * (t + 1) / tiles - i);
      kernel::micro_kernel_rows(mr, k, dg + i * ld_dg, ld_dg, bp, nr, 1.0f, beta,
                                dh + i * ld_dh + p * kNR, ld_dh);
    }
  }
}

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
