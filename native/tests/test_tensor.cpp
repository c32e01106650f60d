// Tensor bookkeeping, storage counters, cell names, CPU memory and the backend registry.
#include <cstdint>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "test_harness.h"

using namespace rnnlm;

namespace {

void test_names() {
  CHECK(shape_str({}) == "()");
  CHECK(shape_str({5}) == "(5)");
  CHECK(shape_str({64, 100}) == "(64, 100)");
  CHECK(std::string(dtype_name(DType::F32)) == "f32");
  CHECK(std::string(dtype_name(DType::I32)) == "i32");
  CHECK(std::string(device_name(Device::CPU)) == "cpu");
  CHECK(std::string(device_name(Device::CUDA)) == "cuda");
  CHECK(dtype_size(DType::F32) == 4 && dtype_size(DType::I32) == 4);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({3, 0, 2}) == 0);
  CHECK(shape_numel({3, 4, 2}) == 24);
}

void test_cells() {
  CHECK(parse_cell_kind("lstm") == CellKind::LSTM);
  CHECK(parse_cell_kind("gru") == CellKind::GRU);
  CHECK(parse_cell_kind("rnn_tanh") == CellKind::RNN_TANH);
  CHECK(parse_cell_kind("rnn") == CellKind::RNN_TANH);
  CHECK(parse_cell_kind("rnn_relu") == CellKind::RNN_RELU);
  for (CellKind k : {CellKind::LSTM, CellKind::GRU, CellKind::RNN_TANH, CellKind::RNN_RELU})
    CHECK(parse_cell_kind(cell_kind_name(k)) == k);
  EXPECT_ERROR(code::kArgument, "'LSTM2'", [] { parse_cell_kind("LSTM2"); });
}

void test_tensor_and_reshape() {
  const int64_t count0 = live_storage_count(), bytes0 = live_storage_bytes();
  {
    Tensor t = ops::empty({2, 3, 4}, DType::F32, Device::CPU);
    CHECK(t.defined() && t.ndim() == 3 && t.numel() == 24 && t.bytes() == 96);
    CHECK(t.dim(0) == 2 && t.dim(-1) == 4 && t.dim(-3) == 2);
    EXPECT_ERROR(code::kShape, "out of range", [&] { t.dim(3); });
    CHECK(reinterpret_cast<uintptr_t>(t.data()) % 64 == 0);
    CHECK(live_storage_count() == count0 + 1);
    CHECK(live_storage_bytes() == bytes0 + 96);

    Tensor r = t.reshape({-1, 4});
    CHECK((r.shape() == Shape{6, 4}));
    CHECK(r.data() == t.data());
    CHECK(live_storage_count() == count0 + 1);  // a view, not a new storage
    CHECK((t.reshape({24}).shape() == Shape{24}));
    CHECK((t.reshape({2, -1}).shape() == Shape{2, 12}));
    EXPECT_ERROR(code::kShape, "cannot reshape", [&] { t.reshape({5, -1}); });
    EXPECT_ERROR(code::kShape, "only one dimension", [&] { t.reshape({-1, -1}); });
    EXPECT_ERROR(code::kShape, "cannot reshape", [&] { t.reshape({25}); });
    EXPECT_ERROR(code::kDType, "expected an i32", [&] { t.i32(); });

    Tensor empty = ops::empty({0, 5}, DType::I32, Device::CPU);
    CHECK(empty.defined() && empty.numel() == 0 && empty.data() != nullptr);
    CHECK((empty.reshape({-1, 5}).shape() == Shape{0, 5}));
  }
  CHECK(live_storage_count() == count0);
  CHECK(live_storage_bytes() == bytes0);
  Tensor undefined;
  CHECK(!undefined.defined());
}

void test_memory() {
  std::vector<float> host = {1, 2, 3, 4, 5, 6};
  Tensor t = ops::from_host(host.data(), {2, 3}, DType::F32, Device::CPU);
  Tensor c = ops::clone(t);
  CHECK(c.data() != t.data());
  std::vector<float> back(6);
  ops::to_host(c, back.data());
  CHECK(back == host);
  Tensor d = ops::to_device(t, Device::CPU);
  CHECK(d.data() != t.data() && d.f32()[5] == 6.0f);
  Tensor z = ops::zeros({3}, DType::I32, Device::CPU);
  CHECK(z.i32()[0] == 0 && z.i32()[2] == 0);
  ops::fill_(z, 7.0f);
  CHECK(z.i32()[1] == 7);
  EXPECT_ERROR(code::kArgument, "integer", [&] { ops::fill_(z, 0.5f); });
  EXPECT_ERROR(code::kShape, "dimensions must be >= 0", [] { ops::empty({-2}, DType::F32, Device::CPU); });
  EXPECT_ERROR(code::kArgument, "data is null", [] { ops::from_host(nullptr, {2}, DType::F32, Device::CPU); });
}

void test_shape_overflow() {
  // Counts that wrap int64_t or size_t are refused instead of becoming a small allocation that a
  // later gather reads past (issue 15: (2^32, 2^32) used to wrap to 0 elements).
  constexpr int64_t k2p32 = int64_t{1} << 32;
  constexpr int64_t kMax = INT64_MAX;
  CHECK(shape_numel({k2p32, k2p32 / 4}) == int64_t{1} << 62);
  CHECK(shape_numel({kMax}) == kMax);
  CHECK(shape_numel({kMax, 0}) == 0);
  CHECK(shape_bytes({3, 4}, DType::F32) == 48);
  CHECK(shape_bytes({int64_t{1} << 61}, DType::I32) == size_t{1} << 63);
  EXPECT_ERROR(code::kShape, "(4294967296, 4294967296)", [] { shape_numel({k2p32, k2p32}); });
  EXPECT_ERROR(code::kShape, "int64", [] { shape_numel({k2p32 + 1, k2p32}); });
  EXPECT_ERROR(code::kShape, "int64", [] { shape_numel({kMax, 2}); });
  EXPECT_ERROR(code::kShape, "size_t", [] { shape_bytes({int64_t{1} << 62}, DType::F32); });
  EXPECT_ERROR(code::kShape, "size_t", [] { shape_bytes({kMax}, DType::F32); });
  EXPECT_ERROR(code::kShape, "zeros:", [] { ops::zeros({k2p32, k2p32}, DType::F32, Device::CPU); });
  EXPECT_ERROR(code::kShape, "empty:", [] { ops::empty({int64_t{1} << 62, 4}, DType::I32, Device::CPU); });
  Tensor t = ops::zeros({2, 3}, DType::F32, Device::CPU);
  EXPECT_ERROR(code::kShape, "reshape", [&] { t.reshape({k2p32, k2p32}); });
  EXPECT_ERROR(code::kShape, "reshape", [&] { t.reshape({k2p32, k2p32, -1}); });
  Tensor empty0 = ops::zeros({0}, DType::F32, Device::CPU);
  CHECK(shape_numel({k2p32, k2p32, 0}) == 0);
  CHECK(empty0.reshape({k2p32, k2p32, 0}).numel() == 0);
  EXPECT_ERROR(code::kShape, "reshape", [&] { empty0.reshape({k2p32, k2p32, 1}); });
}

void test_block_reuse() {
  // Large buffers come back from the recycling cache; the live counters see only tensors.
  const int64_t bytes0 = live_storage_bytes();
  void* first = nullptr;
  {
    Tensor a = ops::empty({1 << 20}, DType::F32, Device::CPU);
    first = a.data();
    a.f32()[(1 << 20) - 1] = 1.0f;
  }
  CHECK(live_storage_bytes() == bytes0);
  Tensor b = ops::empty({(1 << 20) - 100}, DType::F32, Device::CPU);
  CHECK(b.data() == first);
  CHECK(reinterpret_cast<uintptr_t>(b.data()) % 64 == 0);
  Tensor c = ops::empty({1 << 20}, DType::F32, Device::CPU);  // b holds the block: a new one
  CHECK(c.data() != first);
  c.f32()[(1 << 20) - 1] = 2.0f;
}

void test_backends() {
  Backend& cpu = backend_for(Device::CPU);
  CHECK(&cpu == &cpu_backend());
  CHECK(cpu.device() == Device::CPU);
  const std::string d = cpu.describe();
  std::printf("describe: %s\n", d.c_str());
  CHECK(d.rfind("cpu (", 0) == 0);
  CHECK(d.find(std::to_string(num_threads())) != std::string::npos);
#if !defined(RNNLM_HAVE_CUDA)
  EXPECT_ERROR(code::kDevice, "built without the CUDA backend", [] { backend_for(Device::CUDA); });
  EXPECT_ERROR(code::kDevice, "built without the CUDA backend",
               [] { ops::zeros({2}, DType::F32, Device::CUDA); });
#endif
}

}  // namespace

int main() {
  test_names();
  test_cells();
  test_tensor_and_reshape();
  test_memory();
  test_shape_overflow();
  test_block_reuse();
  test_backends();
  return test::finish("test_tensor");
}
