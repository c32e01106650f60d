// Philox4x32-10 against the Random123 known-answer vectors, and the element mapping that the
// CPU fills (uniform_, normal_, dropout) must share with philox_uniform / philox_normal.
#include <cinttypes>

#include "core/philox.h"
#include "test_harness.h"

using namespace rnnlm;

namespace {

// philox.h maps counter = (block lo, block hi, offset lo, offset hi), key = (seed lo, seed hi).
void check_kat(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1,
               const uint32_t (&want)[4]) {
  const uint64_t block = (uint64_t{c1} << 32) | c0;
  const uint64_t offset = (uint64_t{c3} << 32) | c2;
  const uint64_t seed = (uint64_t{k1} << 32) | k0;
  const Philox4x32 r = philox4x32_10(seed, offset, block);
  for (int i = 0; i < 4; ++i) {
    if (r.v[i] != want[i]) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "philox KAT lane %d: got 0x%08" PRIx32 ", want 0x%08" PRIx32, i,
                    r.v[i], want[i]);
      test::report(__FILE__, __LINE__, buf);
    }
  }
}

void test_known_answers() {
  // Random123 kat_vectors, philox4x32 10 rounds.
  check_kat(0, 0, 0, 0, 0, 0, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  check_kat(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
            {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  check_kat(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
            {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

void test_uniform_mapping() {
  // Element i takes lane i % 4 of block i / 4, top 24 bits.
  const uint64_t seed = 0x1234567890abcdefull, offset = 7;
  for (uint64_t i = 0; i < 64; ++i) {
    const Philox4x32 r = philox4x32_10(seed, offset, i / 4);
    const float want = static_cast<float>(r.v[i % 4] >> 8) / 16777216.0f;
    CHECK(philox_uniform(seed, offset, i) == want);
  }
  // Distinct offsets are distinct streams.
  int same = 0;
  for (uint64_t i = 0; i < 256; ++i) same += philox_uniform(1, 0, i) == philox_uniform(1, 1, i);
  CHECK(same < 4);
}

void test_fills_match_elementwise_functions() {
  const uint64_t seed = 42, offset = 3;
  // Odd sizes so that thread chunks start and end inside Philox blocks.
  for (int64_t n : {1, 5, 1003, 70001}) {
    Tensor u = ops::empty({n}, DType::F32, Device::CPU);
    ops::uniform_(u, -2.0f, 3.0f, seed, offset);
    Tensor z = ops::empty({n}, DType::F32, Device::CPU);
    ops::normal_(z, 1.0f, 0.5f, seed, offset);
    int bad_u = 0, bad_z = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float want_u = -2.0f + 5.0f * philox_uniform(seed, offset, static_cast<uint64_t>(i));
      const float want_z = 1.0f + 0.5f * philox_normal(seed, offset, static_cast<uint64_t>(i));
      bad_u += u.f32()[i] != want_u;
      bad_z += z.f32()[i] != want_z;
    }
    CHECK(bad_u == 0);
    CHECK(bad_z == 0);
  }
}

void test_distributions() {
  const int64_t n = 1 << 20;
  Tensor u = ops::empty({n}, DType::F32, Device::CPU);
  ops::uniform_(u, 0.0f, 1.0f, 9, 0);
  double mean = 0, var = 0, lo = 1, hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = u.f32()[i];
    mean += v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  mean /= n;
  for (int64_t i = 0; i < n; ++i) var += (u.f32()[i] - mean) * (u.f32()[i] - mean);
  var /= n;
  CHECK_NEAR(mean, 0.5, 0.003);
  CHECK_NEAR(var, 1.0 / 12.0, 0.001);
  CHECK(lo >= 0.0 && hi < 1.0);

  Tensor z = ops::empty({n}, DType::F32, Device::CPU);
  ops::normal_(z, 2.0f, 3.0f, 9, 1);
  mean = 0;
  var = 0;
  for (int64_t i = 0; i < n; ++i) mean += z.f32()[i];
  mean /= n;
  for (int64_t i = 0; i < n; ++i) var += (z.f32()[i] - mean) * (z.f32()[i] - mean);
  var /= n;
  CHECK_NEAR(mean, 2.0, 0.02);
  CHECK_NEAR(std::sqrt(var), 3.0, 0.02);
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) finite = finite && std::isfinite(z.f32()[i]);
  CHECK(finite);
}

}  // namespace

int main() {
  test_known_answers();
  test_uniform_mapping();
  test_fills_match_elementwise_functions();
  test_distributions();
  return test::finish("test_philox");
}
