// Tensor and Storage: shape bookkeeping, typed access and the live-storage counters that the
// leak tests read. No maths here; backends own the bytes.
#include "tensor.h"

#include <atomic>

#include "error.h"

namespace rnnlm {

namespace {
// Relaxed is enough: the counters are read for leak checks after the work they count is joined.
std::atomic<int64_t> g_live_count{0};
std::atomic<int64_t> g_live_bytes{0};
}  // namespace

std::string shape_str(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  // A 1-D shape prints as "(5)" rather than Python's "(5,)": messages read more naturally.
  s += ")";
  return s;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "f32";
    case DType::I32: return "i32";
  }
  return "unknown";
}

const char* device_name(Device device) {
  switch (device) {
    case Device::CPU: return "cpu";
    case Device::CUDA: return "cuda";
  }
  return "unknown";
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return sizeof(float);
    case DType::I32: return sizeof(int32_t);
  }
  fail(code::kDType, "unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

namespace {

std::string shape_context(const char* what) { return what ? std::string(what) + ": " : std::string(); }

}  // namespace

int64_t shape_numel(const Shape& shape, const char* what) {
  bool empty = false;
  for (int64_t d : shape) {
    RNNLM_CHECK(d >= 0, code::kShape,
                shape_context(what) + "dimensions must be >= 0, got " + shape_str(shape));
    empty = empty || d == 0;
  }
  if (empty) return 0;  // (2^32, 2^32, 0) holds nothing; only a non-zero product can overflow
  int64_t n = 1;
  for (int64_t d : shape) {
    RNNLM_CHECK(!__builtin_mul_overflow(n, d, &n), code::kShape,
                shape_context(what) + "shape " + shape_str(shape) +
                    " has more elements than int64 can count (2^63 - 1)");
  }
  return n;
}

size_t shape_bytes(const Shape& shape, DType dtype, const char* what) {
  const int64_t n = shape_numel(shape, what);
  size_t bytes = 0;
  RNNLM_CHECK(!__builtin_mul_overflow(static_cast<size_t>(n), dtype_size(dtype), &bytes), code::kShape,
              shape_context(what) + "shape " + shape_str(shape) + " of " + dtype_name(dtype) +
                  " needs more bytes than size_t can count");
  return bytes;
}

Storage::Storage(void* data_, size_t bytes_, Device device_,
                 std::function<void(void*, size_t)> release_)
    : data(data_), bytes(bytes_), device(device_), release(std::move(release_)) {
  g_live_count.fetch_add(1, std::memory_order_relaxed);
  g_live_bytes.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
}

Storage::~Storage() {
  g_live_count.fetch_sub(1, std::memory_order_relaxed);
  g_live_bytes.fetch_sub(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  if (release) release(data, bytes);
}

int64_t live_storage_count() { return g_live_count.load(std::memory_order_relaxed); }
int64_t live_storage_bytes() { return g_live_bytes.load(std::memory_order_relaxed); }

Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype)
    : storage_(std::move(storage)), shape_(std::move(shape)), dtype_(dtype) {
  numel_ = shape_numel(shape_);
  shape_bytes(shape_, dtype_);  // bytes() below multiplies unchecked, so the product must fit
  RNNLM_CHECK(storage_ != nullptr, code::kInternal, "tensor constructed without storage");
  RNNLM_CHECK(bytes() <= storage_->bytes, code::kInternal,
              "tensor of shape " + shape_str(shape_) + " " + dtype_name(dtype_) + " needs " +
                  std::to_string(bytes()) + " bytes but its storage holds " +
                  std::to_string(storage_->bytes));
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  const int j = i < 0 ? i + n : i;
  RNNLM_CHECK(j >= 0 && j < n, code::kShape,
              "dimension " + std::to_string(i) + " out of range for shape " + shape_str(shape_));
  return shape_[j];
}

Device Tensor::device() const {
  RNNLM_CHECK(defined(), code::kInternal, "device() of an undefined tensor");
  return storage_->device;
}

void* Tensor::data() const {
  RNNLM_CHECK(defined(), code::kInternal, "data() of an undefined tensor");
  return storage_->data;
}

float* Tensor::f32() const {
  RNNLM_CHECK(defined(), code::kInternal, "f32() of an undefined tensor");
  RNNLM_CHECK(dtype_ == DType::F32, code::kDType,
              std::string("expected an f32 tensor, got ") + dtype_name(dtype_));
  return static_cast<float*>(storage_->data);
}

int32_t* Tensor::i32() const {
  RNNLM_CHECK(defined(), code::kInternal, "i32() of an undefined tensor");
  RNNLM_CHECK(dtype_ == DType::I32, code::kDType,
              std::string("expected an i32 tensor, got ") + dtype_name(dtype_));
  return static_cast<int32_t*>(storage_->data);
}

Tensor Tensor::reshape(const Shape& shape) const {
  RNNLM_CHECK(defined(), code::kInternal, "reshape of an undefined tensor");
  Shape out = shape;
  int infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != -1) continue;
    RNNLM_CHECK(infer < 0, code::kShape,
                "reshape: only one dimension can be -1, got " + shape_str(shape));
    infer = static_cast<int>(i);
  }
  // The known dimensions' product, overflow-checked like any shape (the -1 counts as 1).
  Shape known_dims = out;
  if (infer >= 0) known_dims[infer] = 1;
  const int64_t known = shape_numel(known_dims, "reshape");
  if (infer >= 0) {
    RNNLM_CHECK(known != 0 && numel_ % known == 0, code::kShape,
                "reshape: cannot reshape " + shape_str(shape_) + " (" + std::to_string(numel_) +
                    " elements) to " + shape_str(shape));
    out[infer] = numel_ / known;
  } else {
    RNNLM_CHECK(known == numel_, code::kShape,
                "reshape: cannot reshape " + shape_str(shape_) + " (" + std::to_string(numel_) +
                    " elements) to " + shape_str(shape));
  }
  return Tensor(storage_, out, dtype_);
}

}  // namespace rnnlm
