// A fixed summation order for scatter-adds on the GPU (embedding backward, scatter_add_rows_).
// Float atomics add repeated indices in arrival order, so the last bits of a row that several
// positions add into vary from run to run. Instead, as PyTorch's deterministic index_add does
// with a sort by index, the positions are grouped by the row they add into (a stable counting
// sort of the indices, on the host: the indices are already read there by the op's range check),
// and one thread per (row, column) adds its positions in ascending order. That is the CPU
// backend's order too (rows.cpp, cpu_embedding.cpp), so both give the same bits.
#pragma once
#include <cstdint>
#include <vector>

#include "backend_class.h"

namespace rnnlm::cuda {

struct RowSegments {
  std::vector<int32_t> rows;    // (K) the distinct target rows, ascending
  std::vector<int32_t> starts;  // (K + 1) segment k is order[starts[k], starts[k + 1])
  std::vector<int32_t> order;   // (M') positions m with idx[m] >= 0, grouped by row, m ascending
};

// idx (m) with values in [-1, rows); -1 adds nothing.
inline RowSegments plan_row_segments(const int32_t* idx, int64_t m, int64_t rows) {
  std::vector<int32_t> count(static_cast<size_t>(rows) + 1, 0);
  for (int64_t i = 0; i < m; ++i)
    if (idx[i] >= 0) ++count[static_cast<size_t>(idx[i]) + 1];
  for (int64_t r = 0; r < rows; ++r) count[static_cast<size_t>(r) + 1] += count[static_cast<size_t>(r)];
  RowSegments s;
  s.order.resize(static_cast<size_t>(count[static_cast<size_t>(rows)]));
  std::vector<int32_t> next(count.begin(), count.end() - 1);  // next free slot of each row
  for (int64_t i = 0; i < m; ++i)
    if (idx[i] >= 0) s.order[static_cast<size_t>(next[static_cast<size_t>(idx[i])]++)] = static_cast<int32_t>(i);
  for (int64_t r = 0; r < rows; ++r) {
    if (count[static_cast<size_t>(r) + 1] == count[static_cast<size_t>(r)]) continue;
    s.rows.push_back(static_cast<int32_t>(r));
    s.starts.push_back(count[static_cast<size_t>(r)]);
  }
  s.starts.push_back(count[static_cast<size_t>(rows)]);
  return s;
}

// dst (N, D) row segments.rows[k] += the src (M, D) rows of segment k, in segment order, on the
// backend's stream.
void segmented_row_add(CudaBackend& backend, const Tensor& dst, const RowSegments& segments, const Tensor& src);

}  // namespace rnnlm::cuda
