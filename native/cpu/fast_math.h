// Branch-free float exp / sigmoid / tanh that GCC and Clang vectorise inside element loops
// (-O3, -fno-math-errno). Scalar libm expf in a cell loop would cost as much as the recurrent
// GEMM; these run 16 lanes at a time with AVX-512.
//
// Accuracy (checked against double precision in native/tests/test_fast_math.cpp): exp within
// 2 ulp over its range, sigmoid and tanh within a few ulp, far inside the 1e-5 absolute
// agreement with PyTorch that the engine promises.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

// Not in a kernel variant's namespace (cpu/isa_variant.h): in a portable build these are compiled
// for the baseline (cpu/isa_prelude.h includes this header first), so the variants' loops, which
// may call code compiled for the baseline but not the other way round, can inline them all the
// way down and vectorise them at their own width.
namespace rnnlm::cpu::fastmath {

inline float bits_to_float(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// e^x. Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for e^r
// (Cephes expf coefficients) and 2^n built in the exponent bits. The input is clamped to the
// range where 2^n is a normal float, so exp saturates at about 2^127.5 above and 2^-126 below
// (1e-38, zero for every use in a cell); NaN passes through.
inline float exp(float x) {
  constexpr float kHi = 88.3762626647949f;   // ln(2^127.5)
  constexpr float kLo = -87.3365447505531f;  // ln(2^-126)
  x = x > kHi ? kHi : x;
  x = x < kLo ? kLo : x;
  // Round x / ln2 to nearest by adding 1.5 * 2^23 (the float spacing there is 1).
  constexpr float kShifter = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShifter;
  const float n = t - kShifter;
  float r = x - n * 0.693359375f;  // ln2 split in two so that n * hi is exact
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  // The exponent field is built in unsigned arithmetic: for n < -127 the signed shift would be
  // undefined behaviour (UBSan reports it); the bits are the same.
  return er * bits_to_float(static_cast<int32_t>(static_cast<uint32_t>(ni + 127) << 23));
}

// 1 / (1 + e^-x): e^-x saturates at 2^127.5 for very negative x, giving ~1e-38 instead of 0.
inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

// tanh(x): an odd polynomial for |x| < 0.625 (Cephes tanhf), where 1 - 2 / (e^2x + 1) would
// cancel, and that formula above, with the sign restored; both are computed and one selected so
// the loop stays branch-free.
inline float tanh(float x) {
  const float ax = std::fabs(x);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float big = std::copysign(1.0f - 2.0f / (exp(2.0f * ax) + 1.0f), x);
  return ax < 0.625f ? small : big;
}

// The transcendental functions as the cell maths (ops/rnn/cell_math.h) takes them.
struct CellFunctions {
  static float sigmoid(float x) { return fastmath::sigmoid(x); }
  static float tanh(float x) { return fastmath::tanh(x); }
};

}  // namespace rnnlm::cpu::fastmath
