// Embedding, linear, dropout, softmax-NLL and log-softmax against double-precision references,
// finite-difference checks of the backward passes, and the layers' validation errors.
#include <limits>

#include "core/philox.h"
#include "cpu/gemm.h"
#include "tests/test_harness.h"

using namespace rnnlm;
using test::int_tensor;
using test::random_tensor;
using test::to_double;

namespace {

// sum(y * r) for a fixed random r: a scalar whose gradient with respect to y is r
double weighted_sum(const Tensor& y, const std::vector<double>& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i) s += y.f32()[i] * r[static_cast<size_t>(i)];
  return s;
}

// Central differences of f() over a few entries of t, compared with the analytic gradient.
void finite_difference(const char* what, const Tensor& t, const Tensor& grad,
                       const std::function<double()>& f, double eps, double tol) {
  const int64_t n = t.numel();
  const int64_t step = n > 40 ? n / 40 + 1 : 1;
  for (int64_t i = 0; i < n; i += step) {
    float& v = t.f32()[i];
    const float saved = v;
    v = saved + static_cast<float>(eps);
    const double up = f();
    v = saved - static_cast<float>(eps);
    const double down = f();
    v = saved;
    const double numeric = (up - down) / (2 * eps);
    const double analytic = grad.f32()[i];
    if (!(std::fabs(numeric - analytic) <= tol * (1 + std::fabs(numeric)))) {
      test::report(__FILE__, __LINE__,
                   std::string(what) + "[" + std::to_string(i) + "]: numeric " +
                       std::to_string(numeric) + " vs analytic " + std::to_string(analytic));
      return;
    }
  }
}

void test_embedding() {
  const int64_t v = 11, e = 7;
  Tensor w = random_tensor({v, e});
  Tensor ids = int_tensor({3, 0, 10, 3, 3, 5}, {2, 3});
  Tensor y = ops::embedding_forward(w, ids);
  CHECK((y.shape() == Shape{2, 3, e}));
  std::vector<double> ref(static_cast<size_t>(6 * e));
  for (int p = 0; p < 6; ++p)
    for (int c = 0; c < e; ++c) ref[p * e + c] = w.f32()[ids.i32()[p] * e + c];
  CHECK_CLOSE(y.f32(), ref, 0, 0 + 1e-12);

  std::vector<double> r = to_double(random_tensor({2, 3, e}));
  Tensor dy = ops::from_host(std::vector<float>(r.begin(), r.end()).data(), {2, 3, e}, DType::F32, Device::CPU);
  Tensor dw = ops::embedding_backward(dy, ids, v);
  CHECK((dw.shape() == Shape{v, e}));
  std::vector<double> rdw(static_cast<size_t>(v * e), 0.0);
  for (int p = 0; p < 6; ++p)
    for (int c = 0; c < e; ++c) rdw[ids.i32()[p] * e + c] += dy.f32()[p * e + c];
  CHECK_CLOSE(dw.f32(), rdw, 1e-6, 1e-6);
  finite_difference("embedding dw", w, dw,
                    [&] { return weighted_sum(ops::embedding_forward(w, ids), r); }, 1e-2, 1e-3);

  EXPECT_ERROR(code::kIndex, "embedding: ids[1, 1] = 11 is out of range for a vocabulary of 11",
               [&] { ops::embedding_forward(w, int_tensor({0, 1, 2, 11}, {2, 2})); });
  EXPECT_ERROR(code::kIndex, "ids[0] = -1", [&] { ops::embedding_forward(w, int_tensor({-1})); });
  EXPECT_ERROR(code::kDType, "embedding: ids must be i32", [&] { ops::embedding_forward(w, w); });
  EXPECT_ERROR(code::kShape, "embedding_backward: dy must be ids.shape ++ (E)",
               [&] { ops::embedding_backward(random_tensor({6, e}), ids, v); });
}

// y = x w^T + b against a double reference, and finite differences of sum(y * r)
void check_linear(int64_t n, int64_t in, int64_t out, bool bias) {
  Tensor x = random_tensor({n, in});
  Tensor w = random_tensor({out, in});
  Tensor b = bias ? random_tensor({out}) : Tensor();
  Tensor y = ops::linear_forward(x, w, b);
  CHECK((y.shape() == Shape{n, out}));
  std::vector<double> ref(static_cast<size_t>(n * out));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out; ++j) {
      double s = bias ? b.f32()[j] : 0.0;
      for (int64_t k = 0; k < in; ++k) s += static_cast<double>(x.f32()[i * in + k]) * w.f32()[j * in + k];
      ref[i * out + j] = s;
    }
  CHECK_CLOSE(y.f32(), ref, 1e-5, 1e-5);

  std::vector<double> r = to_double(random_tensor({n, out}));
  Tensor dy = ops::from_host(std::vector<float>(r.begin(), r.end()).data(), {n, out}, DType::F32, Device::CPU);
  Tensor dx, dw, db;
  ops::linear_backward(dy, x, w, bias, true, dx, dw, db);
  CHECK(dx.defined() && dw.defined() && db.defined() == bias);
  auto loss = [&] { return weighted_sum(ops::linear_forward(x, w, b), r); };
  finite_difference("linear dx", x, dx, loss, 1e-2, 1e-3);
  finite_difference("linear dw", w, dw, loss, 1e-2, 1e-3);
  if (bias) {
    finite_difference("linear db", b, db, loss, 1e-2, 1e-3);
    std::vector<double> rdb(static_cast<size_t>(out), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < out; ++j) rdb[j] += r[i * out + j];
    CHECK_CLOSE(db.f32(), rdb, 1e-6, 1e-6);
  }
  Tensor dx2, dw2, db2;
  ops::linear_backward(dy, x, w, bias, false, dx2, dw2, db2);
  CHECK(!dx2.defined());
}

void test_linear() {
  for (bool bias : {true, false}) {
    check_linear(9, 13, 6, bias);
    check_linear(70, 131, 65, bias);  // past the GEMM kernels' register and cache blocks
  }
  // Zero rows: dw and db are zeros, not garbage.
  Tensor x0 = random_tensor({0, 4});
  Tensor w0 = random_tensor({3, 4});
  Tensor dx, dw, db;
  ops::linear_backward(random_tensor({0, 3}), x0, w0, true, true, dx, dw, db);
  CHECK(dw.f32()[0] == 0.0f && dw.f32()[11] == 0.0f && db.f32()[2] == 0.0f);
  CHECK((ops::linear_forward(x0, w0, Tensor()).shape() == Shape{0, 3}));

  Tensor x = random_tensor({5, 100});
  EXPECT_ERROR(code::kShape, "linear: w must be (Out, In) with In = 100, got (64, 128)",
               [&] { ops::linear_forward(x, random_tensor({64, 128}), Tensor()); });
  EXPECT_ERROR(code::kShape, "linear: b must be (Out) with Out = 64, got (65)",
               [&] { ops::linear_forward(x, random_tensor({64, 100}), random_tensor({65})); });
  EXPECT_ERROR(code::kShape, "linear: x must be (N, In) (2-D), got (100)",
               [&] { ops::linear_forward(random_tensor({100}), random_tensor({64, 100}), Tensor()); });
  EXPECT_ERROR(code::kShape, "linear_backward: dy must be (N, Out) with N = 5, Out = 64, got (5, 63)", [&] {
    Tensor a, b2, c;
    ops::linear_backward(random_tensor({5, 63}), x, random_tensor({64, 100}), true, true, a, b2, c);
  });
}

void test_dropout() {
  const int64_t n = 100001;
  Tensor x = random_tensor({n});
  for (float p : {0.0f, 0.3f, 1.0f}) {
    Tensor y, mask;
    ops::dropout_forward(x, p, 77, 5, y, mask);
    int64_t kept = 0;
    bool ok = true;
    for (int64_t i = 0; i < n; ++i) {
      const float u = philox_uniform(77, 5, static_cast<uint64_t>(i));
      const float want = p >= 1.0f ? 0.0f : (u >= p ? 1.0f / (1.0f - p) : 0.0f);
      ok = ok && mask.f32()[i] == want && y.f32()[i] == x.f32()[i] * want;
      kept += mask.f32()[i] != 0.0f;
    }
    CHECK(ok);
    if (p == 0.0f) CHECK(kept == n);
    if (p == 1.0f) CHECK(kept == 0);
    if (p == 0.3f) CHECK_NEAR(static_cast<double>(kept) / n, 0.7, 0.01);
  }
  Tensor y, mask;
  EXPECT_ERROR(code::kArgument, "dropout: p must be in [0, 1], got 1.5", [&] { ops::dropout_forward(x, 1.5f, 0, 0, y, mask); });
  EXPECT_ERROR(code::kArgument, "dropout: p must be in [0, 1], got nan",
               [&] { ops::dropout_forward(x, std::numeric_limits<float>::quiet_NaN(), 0, 0, y, mask); });
}

// Reference: mean (or sum) over counted rows of log-sum-exp(x) - x[t], in double.
double reference_nll(const Tensor& logits, const std::vector<int32_t>& t, int32_t ignore,
                     Reduction red, std::vector<double>* grad) {
  const int64_t n = logits.dim(0), v = logits.dim(1);
  double total = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) count += t[i] != ignore;
  const double scale = red == Reduction::Mean ? 1.0 / count : 1.0;
  if (grad) grad->assign(static_cast<size_t>(n * v), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    if (t[i] == ignore) continue;
    const float* x = logits.f32() + i * v;
    double m = x[0];
    for (int64_t j = 1; j < v; ++j) m = std::max(m, static_cast<double>(x[j]));
    double s = 0;
    for (int64_t j = 0; j < v; ++j) s += std::exp(x[j] - m);
    const double lse = m + std::log(s);
    total += lse - x[t[i]];
    if (grad) {
      for (int64_t j = 0; j < v; ++j) (*grad)[i * v + j] = std::exp(x[j] - lse) * scale;
      (*grad)[i * v + t[i]] -= scale;
    }
  }
  return red == Reduction::Mean ? total / count : total;
}

void test_softmax_nll() {
  const int64_t n = 7, v = 37;  // V not a multiple of the vector width
  const int32_t ignore = -100;
  const std::vector<int32_t> t = {3, -100, 0, 36, 5, -100, 36};
  Tensor targets = int_tensor(t);
  for (double spread : {1.0, 30.0}) {
    Tensor logits = random_tensor({n, v}, -spread, spread);
    for (Reduction red : {Reduction::Mean, Reduction::Sum}) {
      SoftmaxNllResult r = ops::softmax_nll(logits, targets, ignore, red);
      std::vector<double> rgrad;
      const double want = reference_nll(logits, t, ignore, red, &rgrad);
      CHECK_NEAR(r.loss.f32()[0], want, 1e-5 * (1 + std::fabs(want)));
      CHECK(r.count.f32()[0] == 5.0f);
      CHECK_CLOSE(r.dlogits.f32(), rgrad, 1e-6, 1e-5);
      bool zero_rows = true;
      for (int64_t j = 0; j < v; ++j) zero_rows = zero_rows && r.dlogits.f32()[1 * v + j] == 0.0f && r.dlogits.f32()[5 * v + j] == 0.0f;
      CHECK(zero_rows);
      if (spread == 1.0)
        finite_difference("softmax_nll dlogits", logits, r.dlogits, [&] {
          return static_cast<double>(ops::softmax_nll(logits, targets, ignore, red).loss.f32()[0]);
        }, 1e-2, 2e-3);
    }
  }
  // Huge logits stay finite (max subtraction), and -inf logits get probability 0.
  std::vector<float> big = {1000.0f, 999.0f, -std::numeric_limits<float>::infinity(), 0.0f};
  Tensor lb = ops::from_host(big.data(), {1, 4}, DType::F32, Device::CPU);
  SoftmaxNllResult rb = ops::softmax_nll(lb, int_tensor({1}), -100, Reduction::Mean);
  CHECK_NEAR(rb.loss.f32()[0], 1.0 + std::log1p(std::exp(-1.0)), 1e-5);
  CHECK(rb.dlogits.f32()[2] == 0.0f);

  // No counted targets: NaN loss as PyTorch, zero gradient.
  SoftmaxNllResult none = ops::softmax_nll(random_tensor({2, 3}), int_tensor({-100, -100}), -100, Reduction::Mean);
  CHECK(std::isnan(none.loss.f32()[0]));
  CHECK(none.count.f32()[0] == 0.0f);
  CHECK(none.dlogits.f32()[0] == 0.0f && none.dlogits.f32()[5] == 0.0f);
  SoftmaxNllResult none_sum = ops::softmax_nll(random_tensor({2, 3}), int_tensor({-100, -100}), -100, Reduction::Sum);
  CHECK(none_sum.loss.f32()[0] == 0.0f);

  // Many rows and a realistic vocabulary take the threaded path.
  const int64_t rows = 64, vocab = 10000;
  Tensor lg = random_tensor({rows, vocab}, -5, 5);
  std::vector<int32_t> tg(rows);
  for (int64_t i = 0; i < rows; ++i) tg[i] = static_cast<int32_t>((i * 7919) % vocab);
  tg[3] = 0;  // ignore_index 0 is a valid id elsewhere
  std::vector<double> rg;
  SoftmaxNllResult big_r = ops::softmax_nll(lg, int_tensor(tg), 0, Reduction::Mean);
  CHECK_NEAR(big_r.loss.f32()[0], reference_nll(lg, tg, 0, Reduction::Mean, &rg), 1e-5);
  CHECK_CLOSE(big_r.dlogits.f32(), rg, 1e-8, 1e-4);

  Tensor logits = random_tensor({n, v});
  EXPECT_ERROR(code::kIndex, "softmax_nll: targets[2] = 37 is out of range for 37 classes",
               [&] { ops::softmax_nll(logits, int_tensor({0, 1, 37, 0, 0, 0, 0}), -100, Reduction::Mean); });
  EXPECT_ERROR(code::kShape, "softmax_nll: targets must be (N) with N = 7, got (6)",
               [&] { ops::softmax_nll(logits, int_tensor({0, 1, 2, 3, 4, 5}), -100, Reduction::Mean); });
  EXPECT_ERROR(code::kDType, "softmax_nll: targets must be i32", [&] { ops::softmax_nll(logits, logits, -100, Reduction::Mean); });
}

void test_log_softmax() {
  for (double spread : {1.0, 50.0}) {
    Tensor logits = random_tensor({5, 33}, -spread, spread);
    Tensor out = ops::log_softmax(logits);
    std::vector<double> ref(5 * 33);
    for (int i = 0; i < 5; ++i) {
      const float* x = logits.f32() + i * 33;
      double m = x[0];
      for (int j = 1; j < 33; ++j) m = std::max(m, static_cast<double>(x[j]));
      double s = 0;
      for (int j = 0; j < 33; ++j) s += std::exp(x[j] - m);
      for (int j = 0; j < 33; ++j) ref[i * 33 + j] = x[j] - m - std::log(s);
    }
    CHECK_CLOSE(out.f32(), ref, 1e-5, 1e-6);
  }
  EXPECT_ERROR(code::kShape, "log_softmax: logits must be (N, V)", [] { ops::log_softmax(random_tensor({4})); });
}

}  // namespace

int main() {
  test_embedding();
  // Both GEMM paths when the build has a BLAS.
  test_linear();
  if (cpu::blas_available()) {
    const cpu::GemmProvider saved = cpu::gemm_provider();
    cpu::set_gemm_provider(saved == cpu::GemmProvider::Blas ? cpu::GemmProvider::Builtin
                                                           : cpu::GemmProvider::Blas);
    test_linear();
    cpu::set_gemm_provider(saved);
  }
  test_dropout();
  test_softmax_nll();
  test_log_softmax();
  return test::finish("test_layers");
}
