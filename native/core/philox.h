// Philox4x32-10 (Salmon et al. 2011), counter-based: the numbers are a pure function of
// (seed, offset, element index), so the CPU and CUDA backends draw identical streams.
//
// Element i of a draw with (seed, offset) uses key = (seed lo, seed hi) and
// counter = (i / 4 lo, i / 4 hi, offset lo, offset hi), taking output lane i % 4.
// A consumer that draws n numbers advances its offset by 1 (offsets name streams, the element
// index walks within one), so draws never overlap whatever their size.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define RNNLM_HOST_DEVICE __host__ __device__
#else
#define RNNLM_HOST_DEVICE
#endif

namespace rnnlm {

struct Philox4x32 {
  uint32_t v[4];
};

RNNLM_HOST_DEVICE inline void philox_mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  lo = static_cast<uint32_t>(product);
}

RNNLM_HOST_DEVICE inline Philox4x32 philox4x32_10(uint64_t seed, uint64_t offset, uint64_t block) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = static_cast<uint32_t>(offset), c3 = static_cast<uint32_t>(offset >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4x32{{c0, c1, c2, c3}};
}

// Element `index` of the stream (seed, offset) as a uniform float in [0, 1) with 24 random bits.
RNNLM_HOST_DEVICE inline float philox_uniform(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 r = philox4x32_10(seed, offset, index >> 2);
  return static_cast<float>(r.v[index & 3] >> 8) * (1.0f / 16777216.0f);
}

}  // namespace rnnlm

namespace rnnlm {

// Element `index` of a standard normal stream (Box-Muller on lanes 2k, 2k+1 of block index/2;
// only the cosine branch is used so that element i never depends on the draw size).
RNNLM_HOST_DEVICE inline float philox_normal(uint64_t seed, uint64_t offset, uint64_t index) {
  const Philox4x32 r = philox4x32_10(seed, offset, index >> 1);
  const int lane = static_cast<int>(index & 1) * 2;
  const float u1 = 1.0f - static_cast<float>(r.v[lane] >> 8) * (1.0f / 16777216.0f);  // (0, 1]
  const float u2 = static_cast<float>(r.v[lane + 1] >> 8) * (1.0f / 16777216.0f);
  const float radius = sqrtf(-2.0f * logf(u1));
  return radius * cosf(6.283185307179586f * u2);
}

}  // namespace rnnlm
