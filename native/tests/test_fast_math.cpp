// cpu::fastmath exp / sigmoid / tanh against double precision: ulp error over the range a cell
// sees, saturation far out, NaN propagation, and that a loop of them matches the scalar calls
// (the vectorised loop body and the scalar function are the same code).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cpu/fast_math.h"
#include "test_harness.h"

namespace {

namespace fm = rnnlm::cpu::fastmath;

// Distance in units in the last place between two finite floats of the same sign region.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  if (ia < 0) ia = std::numeric_limits<int32_t>::min() - ia;
  if (ib < 0) ib = std::numeric_limits<int32_t>::min() - ib;
  return std::llabs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

template <typename F, typename R>
void sweep(const char* name, F f, R ref, double lo, double hi, int64_t max_ulps, double max_abs) {
  const int n = 1 << 20;
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(lo + (hi - lo) * i / (n - 1));
  for (int i = 0; i < n; ++i) y[i] = f(x[i]);  // vectorised loop
  int64_t worst_ulps = 0;
  double worst_abs = 0.0;
  float at = 0.0f;
  for (int i = 0; i < n; ++i) {
    const double want = ref(static_cast<double>(x[i]));
    const int64_t u = ulps(y[i], static_cast<float>(want));
    const double e = std::fabs(y[i] - want);
    if (u > worst_ulps) {
      worst_ulps = u;
      at = x[i];
    }
    if (e > worst_abs) worst_abs = e;
  }
  std::printf("test_fast_math: %s on [%g, %g]: %lld ulp, %.3g absolute\n", name, lo, hi,
              static_cast<long long>(worst_ulps), worst_abs);
  if (worst_ulps > max_ulps)
    test::report(__FILE__, __LINE__, std::string(name) + ": " + std::to_string(worst_ulps) + " ulp at x = " + std::to_string(at));
  if (worst_abs > max_abs)
    test::report(__FILE__, __LINE__, std::string(name) + ": absolute error " + std::to_string(worst_abs));
}

void test_accuracy() {
  sweep("exp", [](float v) { return fm::exp(v); }, [](double v) { return std::exp(v); }, -87.0, 88.0, 2, 1e300);
  sweep("sigmoid", [](float v) { return fm::sigmoid(v); }, [](double v) { return 1.0 / (1.0 + std::exp(-v)); },
        -30.0, 30.0, 4, 2e-7);
  sweep("tanh", [](float v) { return fm::tanh(v); }, [](double v) { return std::tanh(v); }, -20.0, 20.0, 4, 2e-7);
  sweep("tanh near 0", [](float v) { return fm::tanh(v); }, [](double v) { return std::tanh(v); }, -1.0, 1.0, 4, 1e-7);
}

void test_edges() {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(fm::exp(nan)));
  CHECK(std::isnan(fm::sigmoid(nan)));
  CHECK(std::isnan(fm::tanh(nan)));
  CHECK(fm::sigmoid(-inf) < 1e-30f);
  CHECK(fm::sigmoid(inf) == 1.0f);
  CHECK(fm::tanh(inf) == 1.0f);
  CHECK(fm::tanh(-inf) == -1.0f);
  CHECK(fm::tanh(0.0f) == 0.0f);
  CHECK(fm::sigmoid(0.0f) == 0.5f);
  CHECK(fm::exp(0.0f) == 1.0f);
  CHECK(fm::exp(-200.0f) < 2e-38f && fm::exp(-200.0f) >= 0.0f);
  CHECK(std::isfinite(fm::exp(200.0f)) && fm::exp(200.0f) > 1e38f);
  // Odd symmetry of tanh, and sigmoid(-x) = 1 - sigmoid(x), to within an ulp or so.
  for (float x : {0.1f, 0.624f, 0.626f, 1.0f, 3.0f, 9.0f}) {
    CHECK(fm::tanh(-x) == -fm::tanh(x));
    CHECK_NEAR(fm::sigmoid(-x), 1.0f - fm::sigmoid(x), 2e-7);
  }
}

}  // namespace

int main() {
  test_accuracy();
  test_edges();
  return test::finish("test_fast_math");
}
