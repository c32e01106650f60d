// Argument checks shared by the ops.*.cpp files (private to native/core). Every failure names
// the op and the argument and says what was expected and what arrived.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend.h"
#include "error.h"
#include "tensor.h"

namespace rnnlm::check {

inline std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

inline void defined(const Tensor& t, const char* op, const char* name) {
  RNNLM_CHECK(t.defined(), code::kArgument, std::string(op) + ": " + name + " is required");
}

inline void dtype(const Tensor& t, DType want, const char* op, const char* name) {
  defined(t, op, name);
  RNNLM_CHECK(t.dtype() == want, code::kDType,
              std::string(op) + ": " + name + " must be " + dtype_name(want) + ", got " +
                  dtype_name(t.dtype()));
}

inline void rank(const Tensor& t, int want, const char* op, const char* name, const char* layout) {
  RNNLM_CHECK(t.ndim() == want, code::kShape,
              std::string(op) + ": " + name + " must be " + layout + " (" + std::to_string(want) +
                  "-D), got " + shape_str(t.shape()));
}

// `layout` names the dimensions ("(Out, In)"), `detail` gives the sizes that pin them
// ("In = 128"); the message reads "linear: w must be (Out, In) with In = 128, got (64, 100)".
inline void shape(const Tensor& t, const Shape& want, const char* op, const char* name,
                  const std::string& layout, const std::string& detail) {
  if (t.shape() == want) return;
  std::string msg = std::string(op) + ": " + name + " must be " + layout;
  if (!detail.empty()) msg += " with " + detail;
  fail(code::kShape, msg + ", got " + shape_str(t.shape()));
}

inline void same_shape(const Tensor& t, const Tensor& ref, const char* op, const char* name,
                       const char* ref_name) {
  RNNLM_CHECK(t.shape() == ref.shape(), code::kShape,
              std::string(op) + ": " + name + " must have the shape of " + ref_name + " " +
                  shape_str(ref.shape()) + ", got " + shape_str(t.shape()));
}

inline void same_device(const Tensor& t, const Tensor& ref, const char* op, const char* name,
                        const char* ref_name) {
  if (!t.defined() || !ref.defined()) return;
  RNNLM_CHECK(t.device() == ref.device(), code::kDevice,
              std::string(op) + ": " + name + " is on " + device_name(t.device()) + " but " +
                  ref_name + " is on " + device_name(ref.device()));
}

inline void finite(double v, const char* op, const char* name) {
  RNNLM_CHECK(std::isfinite(v), code::kArgument,
              std::string(op) + ": " + name + " must be finite, got " + fmt(v));
}

// lo <= v (<= or <) hi, with a message that shows the interval
inline void in_range(double v, double lo, double hi, bool hi_open, const char* op,
                     const char* name) {
  const bool ok = v >= lo && (hi_open ? v < hi : v <= hi);  // false for NaN
  RNNLM_CHECK(ok, code::kArgument,
              std::string(op) + ": " + name + " must be in [" + fmt(lo) + ", " + fmt(hi) +
                  (hi_open ? ")" : "]") + ", got " + fmt(v));
}

inline void non_negative(double v, const char* op, const char* name) {
  RNNLM_CHECK(v >= 0.0 && std::isfinite(v), code::kArgument,
              std::string(op) + ": " + name + " must be a finite number >= 0, got " + fmt(v));
}

// The values of an i32 tensor on the host: the tensor's own memory on the CPU, else a copy.
// Index checks need them; on CUDA that costs one small device-to-host copy.
class HostI32 {
 public:
  explicit HostI32(const Tensor& t) {
    if (t.device() == Device::CPU) {
      data_ = t.i32();
    } else {
      copy_.resize(static_cast<size_t>(t.numel()));
      backend_for(t.device()).copy_to_host(t, copy_.data());
      data_ = copy_.data();
    }
  }
  const int32_t* data() const { return data_; }

 private:
  const int32_t* data_ = nullptr;
  std::vector<int32_t> copy_;
};

// "ids[2, 3]" for flat position 11 of shape (4, 4)
inline std::string position(const Shape& shape, int64_t flat) {
  std::string s;
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    const int64_t size = shape[static_cast<size_t>(d)] > 0 ? shape[static_cast<size_t>(d)] : 1;
    s = std::to_string(flat % size) + (s.empty() ? "" : ", ") + s;
    flat /= size;
  }
  return "[" + s + "]";
}

}  // namespace rnnlm::check
