// Micro-benchmark of one RNN layer, forward + backward, through the engine's public ops (the
// same call the bindings make), against which bench/native/torch_layer.py times torch.nn.LSTM /
// GRU / RNN of the same sizes.
//
//   bench_layer [cell=lstm] [in=512] [hidden=512] [batch=64] [seq=128] [reps=5] [mode=fused]
//
// Prints one JSON object: {cell, in, hidden, batch, seq, mode, gemm, threads, fwd_ms, fwd_bwd_ms,
// gflops} with medians over `reps` after one warm-up; gflops counts the GEMM work only:
// forward 2 N G H (In + H) flops, backward twice that.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/ops.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"

namespace {

using rnnlm::DType;
using rnnlm::Device;
using rnnlm::Tensor;
namespace ops = rnnlm::ops;

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Tensor uniform(const rnnlm::Shape& shape, float bound, uint64_t seed) {
  Tensor t = ops::empty(shape, DType::F32, Device::CPU);
  ops::uniform_(t, -bound, bound, seed, 0);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cell_name = argc > 1 ? argv[1] : "lstm";
    const int64_t in = argc > 2 ? std::atoll(argv[2]) : 512;
    const int64_t hidden = argc > 3 ? std::atoll(argv[3]) : 512;
    const int64_t batch = argc > 4 ? std::atoll(argv[4]) : 64;
    const int64_t seq = argc > 5 ? std::atoll(argv[5]) : 128;
    const int reps = argc > 6 ? std::atoi(argv[6]) : 5;
    const std::string mode = argc > 7 ? argv[7] : "fused";

    rnnlm::LayerSpec spec;
    spec.cell = rnnlm::parse_cell_kind(cell_name == "rnn" ? "rnn_tanh" : cell_name);
    spec.fused = mode != "unfused";
    spec.batch_sizes.assign(static_cast<size_t>(seq), static_cast<int32_t>(batch));
    const int64_t g = rnnlm::gate_count(spec.cell), n = batch * seq;
    const float k = 1.0f / static_cast<float>(std::sqrt(static_cast<double>(hidden)));

    rnnlm::LayerWeights w;
    w.w_ih = uniform({g * hidden, in}, k, 1);
    w.w_hh = uniform({g * hidden, hidden}, k, 2);
    w.b_ih = uniform({g * hidden}, k, 3);
    w.b_hh = uniform({g * hidden}, k, 4);
    const Tensor x = uniform({n, in}, 1.0f, 5);
    const Tensor dy = uniform({n, hidden}, 1.0f, 6);

    std::vector<double> fwd, total;
    for (int r = 0; r < reps + 1; ++r) {
      const double t0 = now_ms();
      const rnnlm::LayerForward f = ops::rnn_layer_forward(spec, x, w, Tensor(), Tensor());
      const double t1 = now_ms();
      const rnnlm::LayerGradients grads =
          ops::rnn_layer_backward(spec, x, w, Tensor(), Tensor(), f, dy, Tensor(), Tensor());
      const double t2 = now_ms();
      if (r == 0) continue;  // warm-up: first touch of the buffers, pool start
      fwd.push_back(t1 - t0);
      total.push_back(t2 - t0);
    }
    const double flops = 3.0 * 2.0 * static_cast<double>(n) * g * hidden * (in + hidden);
    const double ms = median(total);
    std::printf(
        "{\"cell\": \"%s\", \"in\": %lld, \"hidden\": %lld, \"batch\": %lld, \"seq\": %lld, "
        "\"mode\": \"%s\", \"gemm\": \"%s\", \"threads\": %d, \"fwd_ms\": %.2f, "
        "\"fwd_bwd_ms\": %.2f, \"gflops\": %.1f}\n",
        cell_name.c_str(), static_cast<long long>(in), static_cast<long long>(hidden),
        static_cast<long long>(batch), static_cast<long long>(seq), mode.c_str(),
        rnnlm::cpu::gemm_provider() == rnnlm::cpu::GemmProvider::Blas ? rnnlm::cpu::blas_name()
                                                                      : "builtin",
        rnnlm::num_threads(), median(fwd), ms, flops / ms * 1e-6);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_layer: %s\n", e.what());
    return 1;
  }
}
