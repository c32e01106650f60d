// The abstract Backend and the argument types of its ops. The ops themselves are listed once, in
// backend_ops.def. Arguments reaching a backend have already been validated by ops*.cpp (shapes,
// dtypes, devices, ranges that can be checked without reading device memory), so
// implementations only compute.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cell.h"
#include "tensor.h"

namespace rnnlm {

// One recurrent layer in one direction over a packed batch (PyTorch PackedSequence layout:
// time-major rows, step t holds batch_sizes[t] rows, batch_sizes non-increasing, sequences
// sorted by decreasing length). N = sum(batch_sizes), B = batch_sizes[0], G = gate_count(cell).
struct LayerWeights {
  Tensor w_ih;  // (G*H, In)
  Tensor w_hh;  // (G*H, H)
  Tensor b_ih;  // (G*H) or undefined (no bias)
  Tensor b_hh;  // (G*H) or undefined
};

struct LayerSpec {
  CellKind cell = CellKind::LSTM;
  bool reverse = false;  // walk t = T-1 .. 0; hT is then the state after t = 0
  bool fused = true;     // false: the same maths as separate element-wise passes
  std::vector<int32_t> batch_sizes;  // host memory, length T
};

struct LayerForward {
  Tensor y;          // (N, H) outputs, packed like x
  Tensor h_n;        // (B, H) final hidden state of every sequence
  Tensor c_n;        // (B, H) final cell state (LSTM only, else undefined)
  Tensor workspace;  // (N, workspace_floats_per_row) kept for backward
};

struct LayerGradients {
  Tensor dx;     // (N, In)
  Tensor dh0;    // (B, H)
  Tensor dc0;    // (B, H) LSTM only
  Tensor dw_ih;  // (G*H, In)
  Tensor dw_hh;  // (G*H, H)
  Tensor db_ih;  // (G*H) if the layer has biases
  Tensor db_hh;  // (G*H)
};

struct SoftmaxNllResult {
  Tensor loss;     // (1) mean (or sum) NLL over counted targets
  Tensor count;    // (1) number of counted targets, as a float
  Tensor dlogits;  // (N, V) gradient of `loss` with respect to the logits
};

enum class Reduction : uint8_t { Mean = 0, Sum = 1 };

struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool decoupled_weight_decay = false;  // AdamW
  int64_t step = 1;                     // 1-based, after increment
};

struct SgdOptions {
  double lr = 0.01, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false;
  int64_t step = 1;  // step 1 initialises the momentum buffer with the gradient, as PyTorch
};

struct RmspropOptions {
  double lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string describe() const = 0;  // e.g. "cpu (OpenBLAS 0.3.21, 2 threads)"

#define RNNLM_BACKEND_OP(ret, name, params) virtual ret name params = 0;
#include "backend_ops.def"
#undef RNNLM_BACKEND_OP
};

// The backend that owns tensors of `device`; CUDA throws ERR_RNNLM_DEVICE when not compiled in
// or no GPU is present.
Backend& backend_for(Device device);
Backend& cpu_backend();

}  // namespace rnnlm
