// Packing of many tensors into fixed-size buffers: the tensors are seen as one stream of elements
// (in the order given), cut into buckets of at most `bucket_elems`; a tensor may span buckets.
// Shared by the MPI (host) and NCCL (device) paths.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace rnnlm::dist {

struct Piece {
  size_t tensor;           // index into the tensor list
  int64_t offset;          // first element within that tensor
  int64_t count;           // elements
  int64_t bucket_offset;   // where they sit in the bucket
};

struct Bucket {
  std::vector<Piece> pieces;
  int64_t count = 0;  // elements in the bucket
};

inline std::vector<Bucket> plan_buckets(const std::vector<int64_t>& sizes, int64_t bucket_elems) {
  std::vector<Bucket> buckets;
  Bucket current;
  for (size_t t = 0; t < sizes.size(); ++t) {
    int64_t offset = 0;
    while (offset < sizes[t]) {
      const int64_t take = std::min(sizes[t] - offset, bucket_elems - current.count);
      current.pieces.push_back({t, offset, take, current.count});
      current.count += take;
      offset += take;
      if (current.count == bucket_elems) {
        buckets.push_back(std::move(current));
        current = Bucket();
      }
    }
  }
  if (current.count > 0) buckets.push_back(std::move(current));
  return buckets;
}

inline int64_t largest_bucket(const std::vector<Bucket>& buckets) {
  int64_t n = 0;
  for (const Bucket& b : buckets) n = std::max(n, b.count);
  return n;
}

}  // namespace rnnlm::dist
