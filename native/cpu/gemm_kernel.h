// The built-in GEMM's register-blocked micro-kernel and panel packing. Shared by gemm_builtin.cpp
// (general sgemm) and recurrent_gemm.cpp (the RNN scan packs W_hh once per layer call and reuses
// the packed panels at every time step).
//
// A micro-tile is MR rows x kNR columns of C held in vector registers. The kNR columns are the
// vector direction (contiguous in row-major C), the MR rows are broadcast from A. With AVX-512,
// 8 x 32 uses 16 zmm accumulators and reaches the FMA rate of a Zen 4 / Skylake-X core; GCC
// lowers the generic vector type to whatever the target has, so the same code is correct (if
// slower) on AVX2, SSE or scalar machines.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "isa_variant.h"

#if RNNLM_SIMD_WIDTH == 512
#include <immintrin.h>
#endif

// In the namespace of the variant being compiled (isa.h): tile sizes differ between variants.
namespace rnnlm::cpu {
inline namespace RNNLM_ISA_NS {
namespace kernel {

#if RNNLM_SIMD_WIDTH == 512
constexpr int kVec = 16;  // floats per register
constexpr int kMR = 8;
constexpr int kNR = 32;
#elif RNNLM_SIMD_WIDTH == 256
constexpr int kVec = 8;
constexpr int kMR = 6;  // 6 x 16: 12 ymm accumulators (the classic Haswell tile)
constexpr int kNR = 16;
#else
constexpr int kVec = 4;
constexpr int kMR = 4;
constexpr int kNR = 8;
#endif
constexpr int kNV = kNR / kVec;  // registers per micro-tile row

// Tallest tile micro_kernel_rows runs on a plain (unpacked) A: up to 11 x 32 (22 zmm
// accumulators) loses nothing to 8 x 32 and loads each B row once per 11 rows instead of 8;
// below ~6 rows the tile runs out of independent accumulators and slows down, so row ranges
// are cut into equal tiles (see row_tiles) rather than 8 + 8 + 4.
#if RNNLM_SIMD_WIDTH == 512
constexpr int kMaxRows = 11;
#elif RNNLM_SIMD_WIDTH == 256
constexpr int kMaxRows = 6;
#else
constexpr int kMaxRows = 4;
#endif

// Number of row tiles for `rows` rows; tile t covers [rows * t / n, rows * (t + 1) / n).
inline int64_t row_tiles(int64_t rows) { return (rows + kMaxRows - 1) / kMaxRows; }

#if defined(__GNUC__)
typedef float vfloat __attribute__((vector_size(kVec * sizeof(float))));
inline vfloat vload(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}
inline void vstore(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
#endif

// A grow-only, 64-byte aligned float buffer for packed panels. Kept per thread (thread_local)
// so that steady-state calls neither allocate nor page-fault fresh memory (a first touch of a
// fresh 4 MB mapping costs ~3 ms on a VM, as much as packing it).
class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { std::free(data_); }
  float* get(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes));
      RNNLM_CHECK(data_ != nullptr, code::kOutOfMemory,
                  "gemm: out of memory for " + std::to_string(bytes) + " bytes of packing buffer");
      capacity_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// Stores an accumulator tile `acc` (MR x kNR, row stride kNR) into C (mr x nr of it):
// C = alpha * acc + beta * C; beta == 0 never reads C, so NaNs already there are ignored (BLAS).
inline void store_tile_partial(const float* acc, int mr, int nr, float alpha, float beta, float* c,
                               int64_t ldc) {
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float* ai = acc + i * kNR;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * ai[j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * ai[j] + beta * ci[j];
    }
  }
}

// C (mr x nr) = alpha * A (MR x kc) * Bp (kc x kNR) + beta * C.
//   kPackedA: A is a packed panel, element (i, k) at a[k * MR + i] (zero padded, so rows
//   i >= mr may be computed and dropped); else A is plain row-major, element (i, k) at
//   a[i * lda + k], and exactly MR rows are read (the recurrent GEMM reads the state in place).
//   Bp is a packed panel: kc rows of kNR floats, zero padded past the matrix edge.
template <int MR, bool kPackedA>
inline void micro_kernel(int64_t kc, const float* a, int64_t lda, const float* bp, int mr, int nr,
                         float alpha, float beta, float* c, int64_t ldc) {
#if defined(__GNUC__)
  vfloat acc[MR][kNV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < kNV; ++v) acc[i][v] = vfloat{};
  const float* ap[MR];
  for (int i = 0; i < MR; ++i) ap[i] = kPackedA ? a + i : a + i * lda;
  // C is read back only after the whole K loop: start fetching it now, so that a C far out in
  // memory (the scan accumulates onto an input projection written long before) costs no stall.
  if (beta != 0.0f) {
    for (int i = 0; i < mr; ++i) {
      __builtin_prefetch(c + i * ldc, 1);
      __builtin_prefetch(c + i * ldc + kNR - 1, 1);
    }
  }
  for (int64_t k = 0; k < kc; ++k) {
    vfloat b[kNV];
    for (int v = 0; v < kNV; ++v) b[v] = vload(bp + k * kNR + v * kVec);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const float s = kPackedA ? ap[0][k * MR + i] : ap[i][k];
      for (int v = 0; v < kNV; ++v) acc[i][v] += s * b[v];
    }
  }
  if (mr == MR && nr == kNR) {
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      for (int v = 0; v < kNV; ++v) {
        if (beta == 0.0f) {
          vstore(ci + v * kVec, alpha * acc[i][v]);
        } else if (beta == 1.0f && alpha == 1.0f) {
          vstore(ci + v * kVec, vload(ci + v * kVec) + acc[i][v]);
        } else {
          vstore(ci + v * kVec, alpha * acc[i][v] + beta * vload(ci + v * kVec));
        }
      }
    }
    return;
  }
  alignas(64) float tile[MR * kNR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < kNV; ++v) vstore(tile + i * kNR + v * kVec, acc[i][v]);
  store_tile_partial(tile, mr, nr, alpha, beta, c, ldc);
#else
  // Portable scalar form for compilers without vector extensions.
  float tile[MR * kNR] = {};
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < MR; ++i) {
      const float s = kPackedA ? a[k * MR + i] : a[i * lda + k];
      for (int j = 0; j < kNR; ++j) tile[i * kNR + j] += s * bp[k * kNR + j];
    }
  store_tile_partial(tile, mr, nr, alpha, beta, c, ldc);
#endif
}

// Rows 1..kMaxRows of an unpacked A: picks the micro-kernel instance with exactly `mr` rows,
// so no row past the matrix is read.
inline void micro_kernel_rows(int mr, int64_t kc, const float* a, int64_t lda, const float* bp,
                              int nr, float alpha, float beta, float* c, int64_t ldc) {
  switch (mr) {
#if RNNLM_SIMD_WIDTH == 512
    case 11: micro_kernel<11, false>(kc, a, lda, bp, 11, nr, alpha, beta, c, ldc); break;
    case 10: micro_kernel<10, false>(kc, a, lda, bp, 10, nr, alpha, beta, c, ldc); break;
    case 9: micro_kernel<9, false>(kc, a, lda, bp, 9, nr, alpha, beta, c, ldc); break;
    case 8: micro_kernel<8, false>(kc, a, lda, bp, 8, nr, alpha, beta, c, ldc); break;
    case 7: micro_kernel<7, false>(kc, a, lda, bp, 7, nr, alpha, beta, c, ldc); break;
#endif
#if RNNLM_SIMD_WIDTH >= 256
    case 6: micro_kernel<6, false>(kc, a, lda, bp, 6, nr, alpha, beta, c, ldc); break;
    case 5: micro_kernel<5, false>(kc, a, lda, bp, 5, nr, alpha, beta, c, ldc); break;
#endif
    case 4: micro_kernel<4, false>(kc, a, lda, bp, 4, nr, alpha, beta, c, ldc); break;
    case 3: micro_kernel<3, false>(kc, a, lda, bp, 3, nr, alpha, beta, c, ldc); break;
    case 2: micro_kernel<2, false>(kc, a, lda, bp, 2, nr, alpha, beta, c, ldc); break;
    default: micro_kernel<1, false>(kc, a, lda, bp, 1, nr, alpha, beta, c, ldc); break;
  }
}

#if RNNLM_SIMD_WIDTH == 512
// GCC 12 flags the _mm512_undefined_ps inside its own shuffle intrinsics as maybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// In-register transpose of a 16 x 16 block: r[i] holds row i on entry, column i on return.
inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 2; ++i)
    for (int m = 0; m < 4; ++m) {
      t[8 * i + m] = _mm512_shuffle_f32x4(r[8 * i + m], r[8 * i + 4 + m], 0x88);
      t[8 * i + 4 + m] = _mm512_shuffle_f32x4(r[8 * i + m], r[8 * i + 4 + m], 0xdd);
    }
  for (int m = 0; m < 8; ++m) {
    r[m] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0x88);
    r[m + 8] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0xdd);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// Packs op(B)(k0 .. k0+kc, j0 .. j0+nr) (nr <= kNR) into one panel: dst[k * kNR + j], zero padded.
// op(B) (K, N) is B[k * ldb + j] when !trans, B[j * ldb + k] when trans.
inline void pack_b_panel(bool trans, const float* b, int64_t ldb, int64_t k0, int64_t kc,
                         int64_t j0, int nr, float* dst) {
  if (!trans) {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = b + (k0 + k) * ldb + j0;
      float* d = dst + k * kNR;
      int j = 0;
      for (; j < nr; ++j) d[j] = src[j];
      for (; j < kNR; ++j) d[j] = 0.0f;
    }
    return;
  }
  // Transposed source: row j of the panel's columns is contiguous in k.
  int64_t k_done = 0;
#if RNNLM_SIMD_WIDTH == 512
  if (nr == kNR) {
    // 16 x 16 blocks through registers: 16 contiguous loads, 16 contiguous stores.
    for (; k_done + 16 <= kc; k_done += 16) {
      for (int half = 0; half < kNR / 16; ++half) {
        __m512 r[16];
        for (int jj = 0; jj < 16; ++jj)
          r[jj] = _mm512_loadu_ps(b + (j0 + half * 16 + jj) * ldb + k0 + k_done);
        transpose16x16(r);
        for (int kk = 0; kk < 16; ++kk) _mm512_storeu_ps(dst + (k_done + kk) * kNR + half * 16, r[kk]);
      }
    }
  }
#endif
  // The rest (or everything without AVX-512) in blocks of k that keep reads and the
  // kNR-strided writes in L1.
  for (int64_t kb = k_done; kb < kc; kb += 64) {
    const int64_t ke = kb + 64 < kc ? kb + 64 : kc;
    for (int j = 0; j < kNR; ++j) {
      if (j < nr) {
        const float* src = b + (j0 + j) * ldb + k0;
        for (int64_t k = kb; k < ke; ++k) dst[k * kNR + j] = src[k];
      } else {
        for (int64_t k = kb; k < ke; ++k) dst[k * kNR + j] = 0.0f;
      }
    }
  }
}

// Packs op(A)(i0 .. i0+mr, k0 .. k0+kc) (mr <= kMR) into one panel: dst[k * kMR + i], zero padded.
// op(A) (M, K) is A[i * lda + k] when !trans, A[k * lda + i] when trans.
inline void pack_a_panel(bool trans, const float* a, int64_t lda, int64_t i0, int mr, int64_t k0,
                         int64_t kc, float* dst) {
  if (mr < kMR) {
    for (int64_t k = 0; k < kc; ++k) {
      float* d = dst + k * kMR;
      for (int i = 0; i < kMR; ++i)
        d[i] = i < mr ? (trans ? a[(k0 + k) * lda + i0 + i] : a[(i0 + i) * lda + k0 + k]) : 0.0f;
    }
    return;
  }
  if (trans) {
    // kMR contiguous floats per k: a fixed-size copy the compiler turns into one vector move.
    for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * kMR, a + (k0 + k) * lda + i0, sizeof(float) * kMR);
    return;
  }
  const float* rows[kMR];
  for (int i = 0; i < kMR; ++i) rows[i] = a + (i0 + i) * lda + k0;
  for (int64_t k = 0; k < kc; ++k) {
    float* d = dst + k * kMR;
    for (int i = 0; i < kMR; ++i) d[i] = rows[i][k];
  }
}

}  // namespace kernel
}  // namespace RNNLM_ISA_NS
}  // namespace rnnlm::cpu
