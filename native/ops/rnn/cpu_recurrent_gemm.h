// The per-step GEMMs of the RNN scan with W_hh packed once per layer call:
//   forward   gates (rows, G*H) += h_prev (rows, H) W_hh^T      (K = H)
//   backward  dh (rows, H) (+)= dG (rows, G*H) W_hh             (K = G*H)
// A general sgemm would repack the whole of W_hh at every time step (4 MB for H = 512 LSTM,
// about a third of the step's arithmetic time at batch 64); here it is packed once into
// micro-kernel panels and the left operand (the state, a few hundred KB) is read in place.
//
// Both directions are cut into blocks of kNR hidden units. A thread that owns blocks
// [p0, p1) computes, in the forward, the gate columns g*H + [p0*kNR, p1*kNR) of every gate,
// exactly what the cell kernel needs for those hidden units, and in the backward the dh
// columns of the same units: so GEMM and cell run back to back on one thread with no barrier.
#pragma once
#include <cstdint>

#include "cpu/isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // cpu/isa.h: kNR differs between CPU kernel variants

class RecurrentGemm {
 public:
  // w_hh (G*H, H) row-major. Packs for the forward (W_hh^T panels per block and gate) or for
  // the backward (W_hh panels per block), into a buffer kept per thread and per direction (so a
  // training loop neither allocates nor page-faults here once warm). The packed panels stay
  // valid until the next pack of the same direction on the same thread. Call before the loop.
  void pack_forward(const float* w_hh, int gates, int64_t hidden);
  void pack_backward(const float* w_hh, int gates, int64_t hidden);

  int64_t blocks() const { return blocks_; }
  int64_t block_begin(int64_t block) const;  // first hidden unit of a block
  int64_t block_end(int64_t block) const;    // one past its last (the last block may be short)

  // For hidden-unit blocks [p0, p1) and every gate g:
  //   out[i][gate_offset[g] + u] = gate_beta[g] * out[...] + sum_k h[i][k] * W_hh[g*H + u][k]
  // for rows i < rows and the block's hidden units u. h (rows, H) row stride ldh, out row
  // stride ld_out. gate_offset lets GRU send its n block to the W_hn h slot of the workspace.
  void forward(int64_t p0, int64_t p1, int64_t rows, const float* h, int64_t ldh, float* out,
               int64_t ld_out, const int64_t* gate_offset, const float* gate_beta) const;

  // For hidden-unit blocks [p0, p1):
  //   dh[i][u] = beta * dh[i][u] + sum_k dg[i][k] * W_hh[k][u],  k < G*H
  // dg (rows, G*H) row stride ld_dg, dh row stride ld_dh.
  void backward(int64_t p0, int64_t p1, int64_t rows, const float* dg, int64_t ld_dg, float* dh,
                int64_t ld_dh, float beta) const;

 private:
  const float* packed_ = nullptr;
  int gates_ = 0;
  int64_t hidden_ = 0;
  int64_t blocks_ = 0;
};

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
