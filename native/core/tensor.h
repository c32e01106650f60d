// A dense, contiguous, row-major tensor living on one device. Storage is reference counted so a
// reshape is a view; every op in the engine produces new storage (no aliasing writes except
// the explicitly in-place ops whose names end in `_`).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rnnlm {

enum class DType : uint8_t { F32 = 0, I32 = 1 };
enum class Device : uint8_t { CPU = 0, CUDA = 1 };

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);
const char* dtype_name(DType dtype);
const char* device_name(Device device);
size_t dtype_size(DType dtype);
// The one place a shape's size is computed. Every dimension must be >= 0 and the element count
// must fit int64_t (shape_numel) and the byte count size_t (shape_bytes); otherwise kShape naming
// the shape, prefixed with `what` (the op) when given. Checked, so a huge shape never wraps to a
// small allocation.
int64_t shape_numel(const Shape& shape, const char* what = nullptr);
size_t shape_bytes(const Shape& shape, DType dtype, const char* what = nullptr);

// Memory owned by a backend. `release` gives it back (free, or the CUDA caching allocator).
struct Storage {
  void* data = nullptr;
  size_t bytes = 0;
  Device device = Device::CPU;
  std::function<void(void*, size_t)> release;

  Storage(void* data, size_t bytes, Device device, std::function<void(void*, size_t)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// Counters over all live storages, for leak tests (the JS `liveTensors` counts handles).
int64_t live_storage_count();
int64_t live_storage_bytes();

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor stands for an absent optional argument
  Tensor(std::shared_ptr<Storage> storage, Shape shape, DType dtype);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return numel_; }
  DType dtype() const { return dtype_; }
  Device device() const;
  size_t bytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* data() const;
  float* f32() const;      // checks dtype
  int32_t* i32() const;    // checks dtype

  // Same storage, new shape with the same element count (-1 infers one dimension).
  Tensor reshape(const Shape& shape) const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  int64_t numel_ = 0;
  DType dtype_ = DType::F32;
};

}  // namespace rnnlm
