// Philox4x32-10 for 16 consecutive blocks at once (64 uniform numbers), with the rounds on
// AVX-512 or AVX2 vectors where the build targets them. Bit-identical to philox4x32_10 in
// core/philox.h, which does one block per call and is latency-bound at ~60 cycles per block.
#pragma once
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12 reports its own _mm512_undefined_epi32() inside these intrinsics as "maybe
// uninitialized" once they are inlined (a known false positive located in the header).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

#include "core/philox.h"

namespace rnnlm::cpu {

constexpr int kPhiloxBatch = 16;  // blocks per batch

#if defined(__AVX512F__) || defined(__AVX2__)
namespace philox_detail {
#if defined(__AVX512F__)
using Vec = __m512i;
constexpr int kWidth = 16;
inline Vec splat(uint32_t v) { return _mm512_set1_epi32(static_cast<int>(v)); }
inline Vec load(const uint32_t* p) { return _mm512_loadu_si512(p); }
inline void store(uint32_t* p, Vec v) { _mm512_storeu_si512(p, v); }
inline Vec bxor(Vec a, Vec b) { return _mm512_xor_si512(a, b); }
// 32 x 32 -> 64-bit products of every 32-bit lane: vpmuludq handles the even lanes, the odd
// lanes are shifted down and multiplied separately, then the halves are blended back.
inline void mulhilo(Vec a, Vec m, Vec& hi, Vec& lo) {
  const Vec even = _mm512_mul_epu32(a, m);
  const Vec odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}
#else
using Vec = __m256i;
constexpr int kWidth = 8;
inline Vec splat(uint32_t v) { return _mm256_set1_epi32(static_cast<int>(v)); }
inline Vec load(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store(uint32_t* p, Vec v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
inline Vec bxor(Vec a, Vec b) { return _mm256_xor_si256(a, b); }
inline void mulhilo(Vec a, Vec m, Vec& hi, Vec& lo) {
  const Vec even = _mm256_mul_epu32(a, m);
  const Vec odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}
#endif
}  // namespace philox_detail
#endif

// out[lane][j] = philox4x32_10(seed, offset, first_block + j).v[lane]
inline void philox_batch(uint64_t seed, uint64_t offset, uint64_t first_block,
                         uint32_t out[4][kPhiloxBatch]) {
  for (int l = 0; l < kPhiloxBatch; ++l) {
    const uint64_t block = first_block + static_cast<uint64_t>(l);
    out[0][l] = static_cast<uint32_t>(block);
    out[1][l] = static_cast<uint32_t>(block >> 32);
  }
#if defined(__AVX512F__) || defined(__AVX2__)
  using namespace philox_detail;
  const Vec m0 = splat(0xD2511F53u), m1 = splat(0xCD9E8D57u);
  for (int base = 0; base < kPhiloxBatch; base += kWidth) {
    Vec c0 = load(out[0] + base), c1 = load(out[1] + base);
    Vec c2 = splat(static_cast<uint32_t>(offset)), c3 = splat(static_cast<uint32_t>(offset >> 32));
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      Vec hi0, lo0, hi1, lo1;
      mulhilo(c0, m0, hi0, lo0);
      mulhilo(c2, m1, hi1, lo1);
      c0 = bxor(bxor(hi1, c1), splat(k0));
      c1 = lo1;
      c2 = bxor(bxor(hi0, c3), splat(k1));
      c3 = lo0;
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    store(out[0] + base, c0);
    store(out[1] + base, c1);
    store(out[2] + base, c2);
    store(out[3] + base, c3);
  }
#else
  for (int l = 0; l < kPhiloxBatch; ++l) {
    const Philox4x32 r = philox4x32_10(seed, offset, first_block + static_cast<uint64_t>(l));
    for (int lane = 0; lane < 4; ++lane) out[lane][l] = r.v[lane];
  }
#endif
}

// Calls fn(i, u) for every i in [begin, end), u = philox_uniform(seed, offset, i), drawing whole
// batches where the range allows and single blocks at the ragged ends.
template <typename Fn>
inline void for_each_uniform(uint64_t seed, uint64_t offset, int64_t begin, int64_t end, Fn fn) {
  constexpr float kInv24 = 1.0f / 16777216.0f;
  constexpr int64_t kSpan = 4 * kPhiloxBatch;  // elements per batch
  int64_t i = begin;
  // Head: up to the first batch-aligned index, one block at a time.
  const int64_t aligned = (begin + kSpan - 1) / kSpan * kSpan;
  while (i < end && i < aligned) {
    const uint64_t block = static_cast<uint64_t>(i) >> 2;
    const Philox4x32 r = philox4x32_10(seed, offset, block);
    const int64_t block_end = static_cast<int64_t>(block + 1) * 4;
    for (; i < end && i < block_end; ++i) fn(i, static_cast<float>(r.v[i & 3] >> 8) * kInv24);
  }
  uint32_t bits[4][kPhiloxBatch];
  for (; i + kSpan <= end; i += kSpan) {
    philox_batch(seed, offset, static_cast<uint64_t>(i) >> 2, bits);
    for (int j = 0; j < kSpan; ++j)
      fn(i + j, static_cast<float>(bits[j & 3][j >> 2] >> 8) * kInv24);
  }
  while (i < end) {
    const uint64_t block = static_cast<uint64_t>(i) >> 2;
    const Philox4x32 r = philox4x32_10(seed, offset, block);
    const int64_t block_end = static_cast<int64_t>(block + 1) * 4;
    for (; i < end && i < block_end; ++i) fn(i, static_cast<float>(r.v[i & 3] >> 8) * kInv24);
  }
}

}  // namespace rnnlm::cpu
