// Fully connected layer y = x W^T + b (nn.Linear), its backward, all through cpu::sgemm.
// W is (Out, In) row-major, so the forward multiplies by W transposed and both gradient GEMMs
// read W and x as stored.
#include <vector>

#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"

namespace rnnlm::cpu {

// x (N, In), w (Out, In), b (Out) or undefined -> y (N, Out)
Tensor CpuBackend::linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  Tensor y = empty({n, out}, DType::F32);
  float* py = y.f32();
  float beta = 0.0f;
  if (b.defined()) {
    // Seed every row with the bias and let the GEMM accumulate onto it (beta = 1).
    const float* pb = b.f32();
    parallel_for(n, 64, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < out; ++j) py[r * out + j] = pb[j];
    });
    beta = 1.0f;
  }
  if (n == 0 || out == 0) return y;
  if (in == 0) {
    if (!b.defined()) fill_(y, 0.0f);
    return y;
  }
  // y (N, Out) = x (N, In) * w^T (In, Out)
  sgemm(false, true, n, out, in, 1.0f, x.f32(), in, w.f32(), in, beta, py, out);
  return y;
}

// dy (N, Out), x (N, In), w (Out, In) -> dx (N, In), dw (Out, In), db (Out)
void CpuBackend::linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias,
                                 bool need_dx, Tensor& dx, Tensor& dw, Tensor& db) {
  const int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  const float* g = dy.f32();

  dx = Tensor();
  if (need_dx) {
    dx = empty({n, in}, DType::F32);
    if (out == 0) {
      fill_(dx, 0.0f);
    } else if (n > 0 && in > 0) {
      // dx (N, In) = dy (N, Out) * w (Out, In)
      sgemm(false, false, n, in, out, 1.0f, g, out, w.f32(), in, 0.0f, dx.f32(), in);
    }
  }

  dw = empty({out, in}, DType::F32);
  if (n == 0) {
    fill_(dw, 0.0f);
  } else if (out > 0 && in > 0) {
    // dw (Out, In) = dy^T (Out, N) * x (N, In)
    sgemm(true, false, out, in, n, 1.0f, g, out, x.f32(), in, 0.0f, dw.f32(), in);
  }

  db = Tensor();
  if (has_bias) {
    // db (Out) = column sums of dy. Threads own column bands; each walks all rows so that the
    // inner loop runs along a contiguous row segment. Accumulated in double, the rows can be many.
    db = empty({out}, DType::F32);
    float* pdb = db.f32();
    const int64_t grain = n > 0 && (1 << 15) / n > 16 ? (1 << 15) / n : 16;
    parallel_for(out, grain, [=](int64_t c0, int64_t c1) {
      std::vector<double> acc(static_cast<size_t>(c1 - c0), 0.0);
      double* a = acc.data();
      for (int64_t r = 0; r < n; ++r) {
        const float* row = g + r * out + c0;
        for (int64_t c = 0; c < c1 - c0; ++c) a[c] += row[c];
      }
      for (int64_t c = 0; c < c1 - c0; ++c) pdb[c0 + c] = static_cast<float>(a[c]);
    });
  }
}

}  // namespace rnnlm::cpu
