// A minimal harness for the standalone engine tests: CHECK records a failure and carries on,
// expect_error runs a callable and checks it throws rnnlm::Error with a given code, and main
// returns the failure count so ctest sees a non-zero exit.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/ops.h"

namespace test {

inline int& failures() {
  static int count = 0;
  return count;
}

inline void report(const char* file, int line, const std::string& what) {
  ++failures();
  std::fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what.c_str());
}

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) ::test::report(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                   \
  do {                                                                                          \
    const double va_ = (a), vb_ = (b);                                                          \
    if (!(std::fabs(va_ - vb_) <= (tol)))                                                       \
      ::test::report(__FILE__, __LINE__,                                                        \
                     std::string(#a " = ") + std::to_string(va_) + " vs " #b " = " +            \
                         std::to_string(vb_) + " (tol " + std::to_string(tol) + ")");           \
  } while (0)

// Runs fn; passes when it throws rnnlm::Error with `code` and the message contains `needle`.
inline void expect_error(const char* file, int line, const char* code, const std::string& needle,
                         const std::function<void()>& fn) {
  try {
    fn();
  } catch (const rnnlm::Error& e) {
    if (std::strcmp(e.code(), code) != 0)
      report(file, line, std::string("expected ") + code + ", got " + e.code() + ": " + e.what());
    else if (std::string(e.what()).find(needle) == std::string::npos)
      report(file, line, std::string("message lacks '") + needle + "': " + e.what());
    return;
  } catch (const std::exception& e) {
    report(file, line, std::string("expected rnnlm::Error ") + code + ", got " + e.what());
    return;
  }
  report(file, line, std::string("expected ") + code + " but nothing was thrown");
}
#define EXPECT_ERROR(code, needle, ...) ::test::expect_error(__FILE__, __LINE__, code, needle, __VA_ARGS__)

// Largest |a - b| / (atol + rtol |b|); <= 1 passes.
inline double max_rel(const float* a, const std::vector<double>& b, double atol, double rtol) {
  double worst = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    const double err = std::fabs(a[i] - b[i]) / (atol + rtol * std::fabs(b[i]));
    if (!(err <= worst)) worst = err;  // NaN propagates as a failure
  }
  return worst;
}

#define CHECK_CLOSE(ptr, ref, atol, rtol)                                                     \
  do {                                                                                        \
    const double worst_ = ::test::max_rel((ptr), (ref), (atol), (rtol));                      \
    if (!(worst_ <= 1.0))                                                                     \
      ::test::report(__FILE__, __LINE__,                                                      \
                     std::string(#ptr " differs from " #ref ": worst scaled error ") +         \
                         std::to_string(worst_));                                             \
  } while (0)

inline uint64_t& rng_state() {
  static uint64_t s = 0x9E3779B97F4A7C15ull;
  return s;
}
// Deterministic test data in [lo, hi) (splitmix64)
inline double rand_uniform(double lo, double hi) {
  uint64_t z = (rng_state() += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return lo + (hi - lo) * (static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0));
}

inline rnnlm::Tensor random_tensor(const rnnlm::Shape& shape, double lo = -1.0, double hi = 1.0) {
  std::vector<float> data(static_cast<size_t>(rnnlm::shape_numel(shape)));
  for (float& v : data) v = static_cast<float>(rand_uniform(lo, hi));
  return rnnlm::ops::from_host(data.data(), shape, rnnlm::DType::F32, rnnlm::Device::CPU);
}

inline rnnlm::Tensor int_tensor(const std::vector<int32_t>& values, rnnlm::Shape shape = {}) {
  if (shape.empty()) shape = {static_cast<int64_t>(values.size())};
  return rnnlm::ops::from_host(values.data(), shape, rnnlm::DType::I32, rnnlm::Device::CPU);
}

inline std::vector<double> to_double(const rnnlm::Tensor& t) {
  const float* p = t.f32();
  return std::vector<double>(p, p + t.numel());
}

inline int finish(const char* name) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", name);
    return 0;
  }
  std::fprintf(stderr, "%s: %d check(s) failed\n", name, failures());
  return 1;
}

}  // namespace test
