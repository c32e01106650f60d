// Validated public API, part 1: memory, element-wise ops, data movement and random fills.
// Layers live in ops/layers/layers_op.cpp, the recurrent layer in ops/rnn/rnn_op.cpp,
// optimisation in ops/optim/optim_op.cpp, decoding in ops/decode/decode_op.cpp. Each op checks everything it can, then calls the backend of its inputs' device.
#include <cstring>
#include <limits>

#include "check.h"
#include "ops.h"

namespace rnnlm::ops {

namespace {

// Dimensions >= 0 and a count and byte size that fit (shape_bytes is the one checked product).
void check_shape_dims(const Shape& shape, DType dtype, const char* op) {
  shape_bytes(shape, dtype, op);
}

void check_device(Device device, const char* op) {
  RNNLM_CHECK(device == Device::CPU || device == Device::CUDA, code::kDevice,
              std::string(op) + ": unknown device " + std::to_string(static_cast<int>(device)));
}

void check_dtype_value(DType dtype, const char* op) {
  RNNLM_CHECK(dtype == DType::F32 || dtype == DType::I32, code::kDType,
              std::string(op) + ": unknown dtype " + std::to_string(static_cast<int>(dtype)));
}

}  // namespace

// --- memory -----------------------------------------------------------------------------------

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_dtype_value(dtype, "empty");
  check_shape_dims(shape, dtype, "empty");
  check_device(device, "empty");
  return backend_for(device).empty(shape, dtype);
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  check_dtype_value(dtype, "zeros");
  check_shape_dims(shape, dtype, "zeros");
  check_device(device, "zeros");
  Backend& be = backend_for(device);
  Tensor t = be.empty(shape, dtype);
  be.fill_(t, 0.0f);
  return t;
}

Tensor from_host(const void* data, const Shape& shape, DType dtype, Device device) {
  check_dtype_value(dtype, "from_host");
  check_shape_dims(shape, dtype, "from_host");
  check_device(device, "from_host");
  Backend& be = backend_for(device);
  Tensor t = be.empty(shape, dtype);
  RNNLM_CHECK(data != nullptr || t.bytes() == 0, code::kArgument,
              "from_host: data is null for a tensor of shape " + shape_str(shape));
  be.copy_from_host(t, data);
  return t;
}

void to_host(const Tensor& t, void* dst) {
  check::defined(t, "to_host", "t");
  RNNLM_CHECK(dst != nullptr || t.bytes() == 0, code::kArgument, "to_host: dst is null");
  backend_for(t.device()).copy_to_host(t, dst);
}

Tensor to_device(const Tensor& t, Device device) {
  check::defined(t, "to_device", "t");
  check_device(device, "to_device");
  if (t.device() == device) return backend_for(device).clone(t);
  // Across devices through host memory: the CUDA backend's own copies do the transfer.
  std::vector<unsigned char> host(t.bytes());
  backend_for(t.device()).copy_to_host(t, host.data());
  Backend& dst = backend_for(device);
  Tensor out = dst.empty(t.shape(), t.dtype());
  dst.copy_from_host(out, host.data());
  return out;
}

Tensor clone(const Tensor& t) {
  check::defined(t, "clone", "t");
  return backend_for(t.device()).clone(t);
}

// --- element-wise -----------------------------------------------------------------------------

void fill_(const Tensor& t, float value) {
  check::defined(t, "fill_", "t");
  if (t.dtype() == DType::I32) {
    // An i32 fill takes whole numbers only; a silent truncation would hide a caller's bug.
    RNNLM_CHECK(std::isfinite(value) && std::floor(value) == value && value >= -2147483648.0f &&
                    value < 2147483648.0f,
                code::kArgument,
                "fill_: value for an i32 tensor must be an integer in int32 range, got " +
                    check::fmt(value));
  }
  backend_for(t.device()).fill_(t, value);
}

void add_(const Tensor& dst, const Tensor& src, float alpha) {
  check::dtype(dst, DType::F32, "add_", "dst");
  check::dtype(src, DType::F32, "add_", "src");
  check::same_device(src, dst, "add_", "src", "dst");
  check::same_shape(src, dst, "add_", "src", "dst");
  backend_for(dst.device()).add_(dst, src, alpha);
}

void scale_(const Tensor& t, float alpha) {
  check::dtype(t, DType::F32, "scale_", "t");
  backend_for(t.device()).scale_(t, alpha);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check::dtype(a, DType::F32, "mul", "a");
  check::dtype(b, DType::F32, "mul", "b");
  check::same_device(b, a, "mul", "b", "a");
  check::same_shape(b, a, "mul", "b", "a");
  return backend_for(a.device()).mul(a, b);
}

Tensor exp(const Tensor& x) {
  check::dtype(x, DType::F32, "exp", "x");
  return backend_for(x.device()).exp(x);
}

Tensor sum_all(const Tensor& t) {
  check::dtype(t, DType::F32, "sum_all", "t");
  return backend_for(t.device()).sum_all(t);
}

// --- rows and columns -------------------------------------------------------------------------

namespace {

// idx (M) i32 with every value in [-1, n)
void check_row_indices(const Tensor& idx, int64_t n, const char* op) {
  check::dtype(idx, DType::I32, op, "idx");
  check::rank(idx, 1, op, "idx", "(M)");
  check::HostI32 host(idx);
  const int32_t* ix = host.data();
  for (int64_t m = 0; m < idx.numel(); ++m) {
    RNNLM_CHECK(ix[m] >= -1 && ix[m] < n, code::kIndex,
                std::string(op) + ": idx[" + std::to_string(m) + "] = " + std::to_string(ix[m]) +
                    " is out of range for " + std::to_string(n) + " rows (expected -1 or [0, " +
                    std::to_string(n) + "))");
  }
}

}  // namespace

Tensor gather_rows(const Tensor& x, const Tensor& idx) {
  check::defined(x, "gather_rows", "x");
  check::rank(x, 2, "gather_rows", "x", "(N, D)");
  check::defined(idx, "gather_rows", "idx");
  check::same_device(idx, x, "gather_rows", "idx", "x");
  check_row_indices(idx, x.dim(0), "gather_rows");
  return backend_for(x.device()).gather_rows(x, idx);
}

void scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src) {
  const char* op = "scatter_add_rows_";
  check::dtype(dst, DType::F32, op, "dst");
  check::rank(dst, 2, op, "dst", "(N, D)");
  check::dtype(src, DType::F32, op, "src");
  check::defined(idx, op, "idx");
  check::same_device(idx, dst, op, "idx", "dst");
  check::same_device(src, dst, op, "src", "dst");
  check::rank(idx, 1, op, "idx", "(M)");
  check::shape(src, {idx.dim(0), dst.dim(1)}, op, "src", "(M, D)",
               "M = " + std::to_string(idx.dim(0)) + ", D = " + std::to_string(dst.dim(1)));
  check_row_indices(idx, dst.dim(0), op);
  backend_for(dst.device()).scatter_add_rows_(dst, idx, src);
}

Tensor concat_cols(const std::vector<Tensor>& parts) {
  const char* op = "concat_cols";
  RNNLM_CHECK(!parts.empty(), code::kArgument, "concat_cols: parts is empty");
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = "parts[" + std::to_string(i) + "]";
    check::defined(parts[i], op, name.c_str());
    check::rank(parts[i], 2, op, name.c_str(), "(N, D)");
    check::same_device(parts[i], parts[0], op, name.c_str(), "parts[0]");
    RNNLM_CHECK(parts[i].dtype() == parts[0].dtype(), code::kDType,
                "concat_cols: " + name + " is " + dtype_name(parts[i].dtype()) + " but parts[0] is " +
                    dtype_name(parts[0].dtype()));
    RNNLM_CHECK(parts[i].dim(0) == parts[0].dim(0), code::kShape,
                "concat_cols: " + name + " must have N = " + std::to_string(parts[0].dim(0)) +
                    " rows like parts[0], got " + shape_str(parts[i].shape()));
  }
  return backend_for(parts[0].device()).concat_cols(parts);
}

Tensor slice_cols(const Tensor& x, int64_t start, int64_t width) {
  check::defined(x, "slice_cols", "x");
  check::rank(x, 2, "slice_cols", "x", "(N, D)");
  const int64_t d = x.dim(1);
  RNNLM_CHECK(start >= 0 && width >= 0 && start <= d && width <= d - start, code::kIndex,
              "slice_cols: columns [" + std::to_string(start) + ", " + std::to_string(start + width) +
                  ") are out of range for x of shape " + shape_str(x.shape()));
  return backend_for(x.device()).slice_cols(x, start, width);
}

// Row-major (R_k, ...) tensors concatenated along dim 0 are their flat buffers laid end to end,
// so this is concat_cols on (1, numel) views.
Tensor concat_rows(const std::vector<Tensor>& parts) {
  const char* op = "concat_rows";
  RNNLM_CHECK(!parts.empty(), code::kArgument, "concat_rows: parts is empty");
  const Tensor& first = parts[0];
  check::defined(first, op, "parts[0]");
  RNNLM_CHECK(first.ndim() >= 1, code::kShape, "concat_rows: parts[0] must have at least one dimension");
  const Shape trailing(first.shape().begin() + 1, first.shape().end());
  int64_t rows = 0;
  std::vector<Tensor> flat;
  flat.reserve(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string name = "parts[" + std::to_string(i) + "]";
    const Tensor& p = parts[i];
    check::defined(p, op, name.c_str());
    check::same_device(p, first, op, name.c_str(), "parts[0]");
    RNNLM_CHECK(p.dtype() == first.dtype(), code::kDType,
                "concat_rows: " + name + " is " + dtype_name(p.dtype()) + " but parts[0] is " +
                    dtype_name(first.dtype()));
    const bool same_trailing =
        p.ndim() == first.ndim() && Shape(p.shape().begin() + 1, p.shape().end()) == trailing;
    RNNLM_CHECK(same_trailing, code::kShape,
                "concat_rows: " + name + " must be " +
                    (trailing.empty() ? std::string("(R)") : "(R, " + shape_str(trailing).substr(1)) +
                    " like parts[0], got " + shape_str(p.shape()));
    rows += p.dim(0);
    flat.push_back(p.reshape({1, p.numel()}));
  }
  Shape out_shape = first.shape();
  out_shape[0] = rows;
  if (trailing.empty()) out_shape = {rows};
  return backend_for(first.device()).concat_cols(flat).reshape(out_shape);
}

Tensor slice_rows(const Tensor& x, int64_t start, int64_t count) {
  check::defined(x, "slice_rows", "x");
  RNNLM_CHECK(x.ndim() >= 1, code::kShape, "slice_rows: x must have at least one dimension");
  const int64_t n = x.dim(0);
  RNNLM_CHECK(start >= 0 && count >= 0 && start <= n && count <= n - start, code::kIndex,
              "slice_rows: rows [" + std::to_string(start) + ", " + std::to_string(start + count) +
                  ") are out of range for x of shape " + shape_str(x.shape()));
  const int64_t inner = n > 0 ? x.numel() / n : shape_numel(Shape(x.shape().begin() + 1, x.shape().end()));
  Shape out_shape = x.shape();
  out_shape[0] = count;
  const Tensor flat = x.reshape({1, x.numel()});
  return backend_for(x.device()).slice_cols(flat, start * inner, count * inner).reshape(out_shape);
}

// --- random -----------------------------------------------------------------------------------

void uniform_(const Tensor& t, float low, float high, uint64_t seed, uint64_t offset) {
  check::dtype(t, DType::F32, "uniform_", "t");
  check::finite(low, "uniform_", "low");
  check::finite(high, "uniform_", "high");
  RNNLM_CHECK(low <= high, code::kArgument,
              "uniform_: low must be <= high, got low = " + check::fmt(low) + ", high = " +
                  check::fmt(high));
  backend_for(t.device()).uniform_(t, low, high, seed, offset);
}

void normal_(const Tensor& t, float mean, float std, uint64_t seed, uint64_t offset) {
  check::dtype(t, DType::F32, "normal_", "t");
  check::finite(mean, "normal_", "mean");
  check::non_negative(std, "normal_", "std");
  backend_for(t.device()).normal_(t, mean, std, seed, offset);
}

}  // namespace rnnlm::ops
