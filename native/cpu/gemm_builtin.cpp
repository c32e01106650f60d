// The built-in SGEMM: Goto/BLIS blocking around the register micro-kernel of gemm_kernel.h.
//
//   for jc over N in kNC columns        B block (kc x nc) packed once per (jc, pc), lives in L2/L3
//     for pc over K in kKC             beta applies on the first K block only
//       pack B block into kNR panels
//       for ic over M in kMC rows      A block (mc x kc) packed into kMR panels, lives in L2
//         for each B panel, each A panel: micro-kernel (kMR x kNR tile of C)
//
// Threads split C into one contiguous range of rows (or columns, when C is wide) per thread;
// each thread packs its own operands into thread-local buffers, so tasks never synchronise.
#include <algorithm>

#include "core/thread_pool.h"
#include "gemm.h"
#include "gemm_kernel.h"
#include "isa_variant.h"

namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {  // isa.h: compiled once per CPU kernel variant

namespace {

using kernel::kMR;
using kernel::kNR;

constexpr int64_t kKC = 384;               // K block: A panel (kMR x kc) stays in L1
constexpr int64_t kMC = 16 * kMR;          // rows of A per packed block (~200 KB, L2)
constexpr int64_t kNC = 64 * kNR;          // columns of B per packed block (L2/L3)
constexpr double kParallelMacs = 1 << 18;  // below this a second thread costs more than it gives

// One pair of packing buffers per thread (no allocation once warm).
thread_local kernel::PackBuffer t_pack_a;
thread_local kernel::PackBuffer t_pack_b;

// C (m, n) *= beta, with beta == 0 writing zeros whatever C held (NaN included).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      std::fill(ci, ci + n, 0.0f);
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < n; ++j) ci[j] *= beta;
    }
  }
}

// C rows [i0, i1) x columns [j0, j1), the whole K.
void gemm_block(bool trans_a, bool trans_b, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                float beta, float* c, int64_t ldc) {
  const int64_t kc_max = std::min(k, kKC);
  float* bpack = t_pack_b.get(static_cast<size_t>(kc_max * std::min(kNC, (j1 - j0 + kNR - 1) / kNR * kNR)));
  float* apack = t_pack_a.get(static_cast<size_t>(kc_max * std::min(kMC, (i1 - i0 + kMR - 1) / kMR * kMR)));
  for (int64_t jc = j0; jc < j1; jc += kNC) {
    const int64_t nc = std::min(kNC, j1 - jc);
    const int64_t npanels = (nc + kNR - 1) / kNR;
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = std::min(kKC, k - pc);
      const float block_beta = pc == 0 ? beta : 1.0f;
      for (int64_t p = 0; p < npanels; ++p) {
        const int nr = static_cast<int>(std::min<int64_t>(kNR, nc - p * kNR));
        kernel::pack_b_panel(trans_b, b, ldb, pc, kc, jc + p * kNR, nr, bpack + p * kc * kNR);
      }
      for (int64_t ic = i0; ic < i1; ic += kMC) {
        const int64_t mc = std::min(kMC, i1 - ic);
        const int64_t mpanels = (mc + kMR - 1) / kMR;
        for (int64_t q = 0; q < mpanels; ++q) {
          const int mr = static_cast<int>(std::min<int64_t>(kMR, mc - q * kMR));
          kernel::pack_a_panel(trans_a, a, lda, ic + q * kMR, mr, pc, kc, apack + q * kc * kMR);
        }
        for (int64_t p = 0; p < npanels; ++p) {
          const int nr = static_cast<int>(std::min<int64_t>(kNR, nc - p * kNR));
          const float* bp = bpack + p * kc * kNR;
          for (int64_t q = 0; q < mpanels; ++q) {
            const int mr = static_cast<int>(std::min<int64_t>(kMR, mc - q * kMR));
            kernel::micro_kernel<kMR, true>(kc, apack + q * kc * kMR, 0, bp, mr, nr, alpha,
                                      block_beta, c + (ic + q * kMR) * ldc + jc + p * kNR, ldc);
          }
        }
      }
    }
  }
}

}  // namespace

void sgemm_builtin_impl(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                   int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  int64_t tasks = macs < kParallelMacs ? 1 : num_threads();
  // Split the longer side of C: every task packs the whole of the other operand, so cutting
  // the long side keeps the duplicated packing to the short one.
  const bool split_rows = m >= n;
  const int64_t unit = split_rows ? kMR : kNR;
  const int64_t units = ((split_rows ? m : n) + unit - 1) / unit;
  tasks = std::max<int64_t>(1, std::min(tasks, units));
  auto run = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t u0 = units * t / tasks, u1 = units * (t + 1) / tasks;
      if (split_rows) {
        gemm_block(trans_a, trans_b, u0 * unit, std::min(m, u1 * unit), 0, n, k, alpha, a, lda, b,
                   ldb, beta, c, ldc);
      } else {
        gemm_block(trans_a, trans_b, 0, m, u0 * unit, std::min(n, u1 * unit), k, alpha, a, lda, b,
                   ldb, beta, c, ldc);
      }
    }
  };
  if (tasks == 1) {
    run(0, 1);
  } else {
    parallel_for(tasks, 1, run);
  }
}

}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
