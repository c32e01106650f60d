// Element-wise ops, row/column data movement and random fills against straightforward
// double-precision references, plus the validation errors of these ops.
#include "test_harness.h"

using namespace rnnlm;
using test::random_tensor;
using test::int_tensor;
using test::to_double;

namespace {

void test_elementwise() {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{100003}}) {
    Tensor a = random_tensor({n});
    Tensor b = random_tensor({n});
    std::vector<double> ra = to_double(a), rb = to_double(b);

    Tensor p = ops::mul(a, b);
    std::vector<double> rp(ra.size());
    for (size_t i = 0; i < ra.size(); ++i) rp[i] = ra[i] * rb[i];
    CHECK_CLOSE(p.f32(), rp, 1e-7, 1e-6);

    ops::add_(a, b, -0.5f);
    for (size_t i = 0; i < ra.size(); ++i) ra[i] += -0.5 * rb[i];
    CHECK_CLOSE(a.f32(), ra, 1e-6, 1e-6);

    ops::scale_(a, 3.0f);
    for (double& v : ra) v *= 3.0;
    CHECK_CLOSE(a.f32(), ra, 1e-6, 1e-6);

    double sum = 0;
    for (size_t i = 0; i < ra.size(); ++i) sum += static_cast<double>(a.f32()[i]);
    CHECK_NEAR(ops::sum_all(a).f32()[0], sum, 1e-6 * (1 + std::fabs(sum)));

    ops::fill_(a, 2.5f);
    bool all = true;
    for (int64_t i = 0; i < n; ++i) all = all && a.f32()[i] == 2.5f;
    CHECK(all);
  }
  // The sum is accumulated in double: 2^24 + many ones would stall in float.
  const int64_t n = 1 << 20;
  std::vector<float> big(n, 1.0f);
  big[0] = 16777216.0f;
  Tensor t = ops::from_host(big.data(), {n}, DType::F32, Device::CPU);
  CHECK(ops::sum_all(t).f32()[0] == 16777216.0f + (n - 1));
  CHECK(ops::sum_all(ops::empty({0}, DType::F32, Device::CPU)).f32()[0] == 0.0f);
}

void test_rows() {
  const int64_t n = 6, d = 5;
  Tensor x = random_tensor({n, d});
  Tensor idx = int_tensor({3, -1, 0, 3, 5});
  Tensor g = ops::gather_rows(x, idx);
  CHECK((g.shape() == Shape{5, d}));
  const int32_t* ix = idx.i32();
  bool ok = true;
  for (int64_t m = 0; m < 5; ++m)
    for (int64_t c = 0; c < d; ++c)
      ok = ok && g.f32()[m * d + c] == (ix[m] < 0 ? 0.0f : x.f32()[ix[m] * d + c]);
  CHECK(ok);

  // Duplicates accumulate; -1 rows are skipped.
  Tensor dst = random_tensor({n, d});
  std::vector<double> ref = to_double(dst);
  Tensor src = random_tensor({5, d});
  for (int64_t m = 0; m < 5; ++m)
    if (ix[m] >= 0)
      for (int64_t c = 0; c < d; ++c) ref[ix[m] * d + c] += src.f32()[m * d + c];
  ops::scatter_add_rows_(dst, idx, src);
  CHECK_CLOSE(dst.f32(), ref, 1e-6, 1e-6);

  // i32 rows gather by bytes too.
  Tensor ints = int_tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor gi = ops::gather_rows(ints, int_tensor({2, 0}));
  CHECK(gi.i32()[0] == 5 && gi.i32()[1] == 6 && gi.i32()[2] == 1 && gi.i32()[3] == 2);

  // Wide scatter with many duplicates: the column-band split must still sum every row.
  const int64_t wide = 3000, rows = 200;
  Tensor big = ops::zeros({4, wide}, DType::F32, Device::CPU);
  std::vector<int32_t> many(rows);
  for (int64_t i = 0; i < rows; ++i) many[i] = static_cast<int32_t>(i % 4);
  Tensor ones = ops::empty({rows, wide}, DType::F32, Device::CPU);
  ops::fill_(ones, 1.0f);
  ops::scatter_add_rows_(big, int_tensor(many), ones);
  ok = true;
  for (int64_t i = 0; i < 4 * wide; ++i) ok = ok && big.f32()[i] == 50.0f;
  CHECK(ok);
}

void test_cols() {
  Tensor a = random_tensor({4, 3});
  Tensor b = random_tensor({4, 5});
  Tensor e = ops::empty({4, 0}, DType::F32, Device::CPU);
  Tensor c = ops::concat_cols({a, e, b});
  CHECK((c.shape() == Shape{4, 8}));
  bool ok = true;
  for (int r = 0; r < 4; ++r) {
    for (int j = 0; j < 3; ++j) ok = ok && c.f32()[r * 8 + j] == a.f32()[r * 3 + j];
    for (int j = 0; j < 5; ++j) ok = ok && c.f32()[r * 8 + 3 + j] == b.f32()[r * 5 + j];
  }
  CHECK(ok);
  Tensor s = ops::slice_cols(c, 3, 5);
  ok = true;
  for (int i = 0; i < 20; ++i) ok = ok && s.f32()[i] == b.f32()[i];
  CHECK(ok);
  CHECK((ops::slice_cols(c, 8, 0).shape() == Shape{4, 0}));

  // Rows through the (1, numel) views.
  Tensor r1 = random_tensor({2, 3, 2});
  Tensor r2 = random_tensor({1, 3, 2});
  Tensor rr = ops::concat_rows({r1, r2});
  CHECK((rr.shape() == Shape{3, 3, 2}));
  ok = true;
  for (int i = 0; i < 12; ++i) ok = ok && rr.f32()[i] == r1.f32()[i];
  for (int i = 0; i < 6; ++i) ok = ok && rr.f32()[12 + i] == r2.f32()[i];
  CHECK(ok);
  Tensor back = ops::slice_rows(rr, 2, 1);
  CHECK((back.shape() == Shape{1, 3, 2}));
  ok = true;
  for (int i = 0; i < 6; ++i) ok = ok && back.f32()[i] == r2.f32()[i];
  CHECK(ok);
  Tensor v = ops::concat_rows({int_tensor({1, 2}), int_tensor({3})});
  CHECK((v.shape() == Shape{3}) && v.i32()[2] == 3);
  CHECK(ops::slice_rows(v, 1, 2).i32()[0] == 2);
  // A single long row is split across threads.
  Tensor long1 = random_tensor({300000});
  Tensor long2 = ops::concat_rows({long1, long1});
  CHECK(long2.f32()[300000 + 299999] == long1.f32()[299999]);
  CHECK(ops::slice_rows(long2, 299999, 2).f32()[1] == long1.f32()[0]);
}

void test_validation() {
  Tensor f = random_tensor({3, 4});
  Tensor i = int_tensor({0, 1, 2});
  EXPECT_ERROR(code::kDType, "add_: src must be f32, got i32", [&] { ops::add_(f, i, 1.0f); });
  EXPECT_ERROR(code::kShape, "add_: src must have the shape of dst (3, 4), got (4, 3)",
               [&] { ops::add_(f, random_tensor({4, 3}), 1.0f); });
  EXPECT_ERROR(code::kShape, "mul: b must have the shape of a", [&] { ops::mul(f, random_tensor({12})); });
  EXPECT_ERROR(code::kDType, "sum_all: t must be f32", [&] { ops::sum_all(i); });
  EXPECT_ERROR(code::kArgument, "scale_: t is required", [&] { ops::scale_(Tensor(), 1.0f); });
  EXPECT_ERROR(code::kIndex, "gather_rows: idx[1] = 3 is out of range for 3 rows",
               [&] { ops::gather_rows(f, int_tensor({0, 3})); });
  EXPECT_ERROR(code::kIndex, "idx[0] = -2", [&] { ops::gather_rows(f, int_tensor({-2})); });
  EXPECT_ERROR(code::kDType, "gather_rows: idx must be i32", [&] { ops::gather_rows(f, f); });
  EXPECT_ERROR(code::kShape, "gather_rows: x must be (N, D)", [&] { ops::gather_rows(i, i); });
  EXPECT_ERROR(code::kShape, "scatter_add_rows_: src must be (M, D) with M = 3, D = 4, got (3, 5)",
               [&] { ops::scatter_add_rows_(f, i, random_tensor({3, 5})); });
  EXPECT_ERROR(code::kShape, "concat_cols: parts[1] must have N = 3 rows",
               [&] { ops::concat_cols({f, random_tensor({2, 4})}); });
  EXPECT_ERROR(code::kDType, "concat_cols: parts[1] is i32", [&] { ops::concat_cols({f, int_tensor({1, 2, 3}, {3, 1})}); });
  EXPECT_ERROR(code::kArgument, "parts is empty", [&] { ops::concat_cols({}); });
  EXPECT_ERROR(code::kIndex, "slice_cols: columns [2, 5)", [&] { ops::slice_cols(f, 2, 3); });
  EXPECT_ERROR(code::kIndex, "slice_rows: rows [-1, 0)", [&] { ops::slice_rows(f, -1, 1); });
  EXPECT_ERROR(code::kShape, "concat_rows: parts[1] must be (R, 4) like parts[0], got (3, 5)",
               [&] { ops::concat_rows({f, random_tensor({3, 5})}); });
  EXPECT_ERROR(code::kArgument, "uniform_: low must be <= high", [&] { ops::uniform_(f, 1.0f, 0.0f, 0, 0); });
  EXPECT_ERROR(code::kArgument, "normal_: std must be a finite number >= 0", [&] { ops::normal_(f, 0.0f, -1.0f, 0, 0); });
  EXPECT_ERROR(code::kDType, "uniform_: t must be f32", [&] { ops::uniform_(i, 0.0f, 1.0f, 0, 0); });
}

}  // namespace

int main() {
  test_elementwise();
  test_rows();
  test_cols();
  test_validation();
  return test::finish("test_ops");
}
