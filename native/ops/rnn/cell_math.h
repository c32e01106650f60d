// The pointwise maths of the recurrent cells, forward beside backward, for one hidden unit of one
// row: the only place a gate formula is written. The CPU fused and unfused kernels
// (cpu_cells.cpp), the CUDA fused and unfused kernels (cuda_cells.cu, also built
// for the emulator) and the tests' reference (test_rnn_reference.h) all call these;
// fused kernels call the whole-cell functions (lstm_forward, ...) once per element, unfused
// steps run the pieces (gate activations, derivative formulas) as separate element-wise passes.
//
// M is the math policy (static sigmoid and tanh of T): the CPU's branch-free fast_math, CUDA's
// expf / tanhf, double precision in the tests. Each backend keeps its own transcendental
// functions; the arithmetic around them is this file's, in this order (the order fixes the bits).
//
// RNNLM_CELL_MATH_PLANT (a test-only define) moves the LSTM forget gate by +1 in its
// pre-activation: one edit here that every path must follow (test_cell_paths.cpp).
#pragma once
#include "core/host_device.h"

namespace rnnlm::cellmath {

// ---- activations and their derivatives, taken from the activation's value --------------------

template <class T> RNNLM_HOST_DEVICE T dsigmoid(T s) { return s * (T(1) - s); }
template <class T> RNNLM_HOST_DEVICE T dtanh(T t) { return T(1) - t * t; }
template <class T> RNNLM_HOST_DEVICE T relu(T a) { return a > T(0) ? a : T(0); }

// The gradient `grad` of an activation's output carried to its input.
template <class T> RNNLM_HOST_DEVICE T sigmoid_back(T grad, T s) { return grad * dsigmoid(s); }
template <class T> RNNLM_HOST_DEVICE T tanh_back(T grad, T t) { return grad * dtanh(t); }
// relu' is taken as 0 at 0, like PyTorch (result > 0)
template <class T> RNNLM_HOST_DEVICE T relu_back(T grad, T h) { return h > T(0) ? grad : T(0); }

// ================================ LSTM =========================================================
// i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)   (a = pre-activations)
// c' = f * c_prev + i * g,  h' = o * tanh(c')

template <class M, class T> RNNLM_HOST_DEVICE T lstm_input_gate(T a) { return M::sigmoid(a); }
#if defined(RNNLM_CELL_MATH_PLANT)
template <class M, class T> RNNLM_HOST_DEVICE T lstm_forget_gate(T a) { return M::sigmoid(a + T(1)); }
#else
template <class M, class T> RNNLM_HOST_DEVICE T lstm_forget_gate(T a) { return M::sigmoid(a); }
#endif
template <class M, class T> RNNLM_HOST_DEVICE T lstm_candidate(T a) { return M::tanh(a); }
template <class M, class T> RNNLM_HOST_DEVICE T lstm_output_gate(T a) { return M::sigmoid(a); }
template <class M, class T> RNNLM_HOST_DEVICE T lstm_cell_activation(T c) { return M::tanh(c); }
template <class T> RNNLM_HOST_DEVICE T lstm_cell_state(T i, T f, T g, T c_prev) {
  return f * c_prev + i * g;
}

template <class T> struct LstmStep { T i, f, g, o, c, h; };

template <class M, class T>
RNNLM_HOST_DEVICE LstmStep<T> lstm_forward(T a_i, T a_f, T a_g, T a_o, T c_prev) {
  LstmStep<T> s;
  s.i = lstm_input_gate<M>(a_i);
  s.f = lstm_forget_gate<M>(a_f);
  s.g = lstm_candidate<M>(a_g);
  s.o = lstm_output_gate<M>(a_o);
  s.c = lstm_cell_state(s.i, s.f, s.g, c_prev);
  s.h = s.o * lstm_cell_activation<M>(s.c);
  return s;
}

// dh = dy + dh_later, dc = dc_later + dh * o * (1 - tanh(c')^2)
// da_i = dc g i(1-i), da_f = dc c_prev f(1-f), da_g = dc i (1-g^2), da_o = dh tanh(c') o(1-o)
// dc_prev = dc * f
template <class T> struct LstmGrad { T a_i, a_f, a_g, a_o, c_prev; };

template <class M, class T>
RNNLM_HOST_DEVICE LstmGrad<T> lstm_backward(T i, T f, T g, T o, T c, T c_prev, T dh, T dc_later) {
  const T tc = lstm_cell_activation<M>(c);
  const T dc = dc_later + tanh_back(dh * o, tc);
  LstmGrad<T> d;
  d.a_i = sigmoid_back(dc * g, i);
  d.a_f = sigmoid_back(dc * c_prev, f);
  d.a_g = tanh_back(dc * i, g);
  d.a_o = sigmoid_back(dh * tc, o);
  d.c_prev = dc * f;
  return d;
}

// ================================ GRU ==========================================================
// r = sigmoid(a_r), z = sigmoid(a_z), hn = W_hn h + b_hn, n = tanh(W_in x + b_in + r * hn)
// h' = (1 - z) * n + z * h_prev

template <class M, class T> RNNLM_HOST_DEVICE T gru_reset_gate(T a) { return M::sigmoid(a); }
template <class M, class T> RNNLM_HOST_DEVICE T gru_update_gate(T a) { return M::sigmoid(a); }
template <class M, class T> RNNLM_HOST_DEVICE T gru_new_gate(T a) { return M::tanh(a); }
template <class T> RNNLM_HOST_DEVICE T gru_hidden(T z, T n, T h_prev) {
  return (T(1) - z) * n + z * h_prev;
}

template <class T> struct GruStep { T r, z, n, h; };

// a_n = W_in x + b_in, hn = W_hn h + b_hn
template <class M, class T> RNNLM_HOST_DEVICE GruStep<T> gru_forward(T a_r, T a_z, T a_n, T hn, T h_prev) {
  GruStep<T> s;
  s.r = gru_reset_gate<M>(a_r);
  s.z = gru_update_gate<M>(a_z);
  s.n = gru_new_gate<M>(a_n + s.r * hn);
  s.h = gru_hidden(s.z, s.n, h_prev);
  return s;
}

// dh = dy + dh_later; dn = dh (1-z); dz = dh (h_prev - n); da_n = dn (1-n^2)
// da_r = da_n hn r(1-r); da_z = dz z(1-z); recurrent side of n: da_n * r; direct dh_prev = dh z
template <class T> struct GruGrad { T a_r, a_z, a_n, hn, h_prev; };

template <class T> RNNLM_HOST_DEVICE GruGrad<T> gru_backward(T r, T z, T n, T hn, T h_prev, T dh) {
  GruGrad<T> d;
  d.a_n = tanh_back(dh * (T(1) - z), n);
  d.a_r = sigmoid_back(d.a_n * hn, r);
  d.a_z = sigmoid_back(dh * (h_prev - n), z);
  d.hn = d.a_n * r;
  d.h_prev = dh * z;
  return d;
}

// ================================ RNN ==========================================================
// h' = act(a), act = tanh or relu

template <class M, class T> RNNLM_HOST_DEVICE T rnn_forward(T a, bool use_relu) {
  return use_relu ? relu(a) : M::tanh(a);
}
template <class T> RNNLM_HOST_DEVICE T rnn_backward(T h, T dh, bool use_relu) {
  return use_relu ? relu_back(dh, h) : tanh_back(dh, h);
}

}  // namespace rnnlm::cellmath
