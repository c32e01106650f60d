// Row gathers and scatters, column concatenation and slicing on row-major 2-D tensors. The data
// movers copy bytes, so they serve f32 and i32 alike.
#include <cstring>

#include "core/thread_pool.h"
#include "cpu_backend.h"

namespace rnnlm::cpu {

namespace {
constexpr int64_t kGrainBytes = 1 << 16;  // bytes copied per chunk before it is worth a thread

int64_t rows_per_chunk(int64_t row_bytes) {
  const int64_t r = kGrainBytes / (row_bytes > 0 ? row_bytes : 1);
  return r > 0 ? r : 1;
}
}  // namespace

// x (N, D), idx (M) -> (M, D): out[m] = x[idx[m]], or zeros where idx[m] == -1
Tensor CpuBackend::gather_rows(const Tensor& x, const Tensor& idx) {
  const int64_t m = idx.numel();
  const int64_t d = x.dim(1);
  Tensor out = empty({m, d}, x.dtype());
  const size_t row_bytes = static_cast<size_t>(d) * dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.data());
  char* dst = static_cast<char*>(out.data());
  const int32_t* ix = idx.i32();
  parallel_for(m, rows_per_chunk(static_cast<int64_t>(row_bytes)), [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      if (ix[r] < 0) {
        std::memset(dst + r * row_bytes, 0, row_bytes);
      } else {
        std::memcpy(dst + r * row_bytes, src + static_cast<int64_t>(ix[r]) * row_bytes, row_bytes);
      }
    }
  });
  return out;
}

// dst (N, D) row idx[m] += src (M, D) row m. Duplicate indices make rows race, so the pool splits
// the columns instead: each thread owns a column band of every row, and rows are added in order m,
// which keeps the result deterministic.
void CpuBackend::scatter_add_rows_(const Tensor& dst, const Tensor& idx, const Tensor& src) {
  const int64_t m = idx.numel();
  const int64_t d = dst.dim(1);
  float* out = dst.f32();
  const float* in = src.f32();
  const int32_t* ix = idx.i32();
  const int64_t grain_cols = m > 0 ? (kGrainBytes / 4 / m > 16 ? kGrainBytes / 4 / m : 16) : d;
  parallel_for(d, grain_cols, [=](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < m; ++r) {
      if (ix[r] < 0) continue;
      float* o = out + static_cast<int64_t>(ix[r]) * d;
      const float* s = in + r * d;
      for (int64_t c = c0; c < c1; ++c) o[c] += s[c];
    }
  });
}

// parts (N, D_k) -> (N, sum D_k)
Tensor CpuBackend::concat_cols(const std::vector<Tensor>& parts) {
  const int64_t n = parts[0].dim(0);
  const DType dtype = parts[0].dtype();
  const size_t elem = dtype_size(dtype);
  int64_t total = 0;
  for (const Tensor& p : parts) total += p.dim(1);
  Tensor out = empty({n, total}, dtype);
  char* dst = static_cast<char*>(out.data());
  const size_t out_row = static_cast<size_t>(total) * elem;
  size_t col_offset = 0;
  for (const Tensor& p : parts) {
    const size_t width = static_cast<size_t>(p.dim(1)) * elem;
    if (width == 0) continue;
    const char* src = static_cast<const char*>(p.data());
    if (n == 1) {
      // A single long row (concat_rows flattens to this): split the copy itself.
      parallel_for(static_cast<int64_t>(width), kGrainBytes, [=](int64_t b, int64_t e) {
        std::memcpy(dst + col_offset + b, src + b, static_cast<size_t>(e - b));
      });
    } else {
      parallel_for(n, rows_per_chunk(static_cast<int64_t>(width)), [=](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
          std::memcpy(dst + r * out_row + col_offset, src + r * width, width);
      });
    }
    col_offset += width;
  }
  return out;
}

// x (N, D) -> (N, width): columns [start, start + width)
Tensor CpuBackend::slice_cols(const Tensor& x, int64_t start, int64_t width) {
  const int64_t n = x.dim(0);
  const size_t elem = dtype_size(x.dtype());
  Tensor out = empty({n, width}, x.dtype());
  const size_t in_row = static_cast<size_t>(x.dim(1)) * elem;
  const size_t out_row = static_cast<size_t>(width) * elem;
  if (out_row == 0) return out;
  const char* src = static_cast<const char*>(x.data()) + static_cast<size_t>(start) * elem;
  char* dst = static_cast<char*>(out.data());
  if (n == 1) {
    parallel_for(static_cast<int64_t>(out_row), kGrainBytes, [=](int64_t b, int64_t e) {
      std::memcpy(dst + b, src + b, static_cast<size_t>(e - b));
    });
  } else {
    parallel_for(n, rows_per_chunk(static_cast<int64_t>(out_row)), [=](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) std::memcpy(dst + r * out_row, src + r * in_row, out_row);
    });
  }
  return out;
}

}  // namespace rnnlm::cpu
