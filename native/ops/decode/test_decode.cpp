// exp and the Gaussian KL term against doubles, and autoregressive decoding (ops/decode/decode_op.h)
// on the CPU backend: decode_pick's contract (first argmax; teacher or prediction by the Philox
// draw at index 2 i; draws at 2 i + 1), and autoregressive_decode_forward / _backward: with every
// row reading the true token they must equal rnn_layer_forward / rnn_layer_backward over the
// whole packed batch.
// A backend (CUDA) that implements these ops can be checked against the same expectations.
#include "decode_op.h"
#include "core/philox.h"
#include "tests/test_harness.h"

using namespace rnnlm;
using test::int_tensor;
using test::random_tensor;
using test::to_double;

namespace {

void test_exp_and_kl() {
  Tensor x = random_tensor({3, 5}, -4, 4);
  Tensor y = ops::exp(x);
  std::vector<double> ref;
  for (int64_t i = 0; i < x.numel(); ++i) ref.push_back(std::exp(static_cast<double>(x.f32()[i])));
  CHECK_CLOSE(y.f32(), ref, 0, 1e-6);

  Tensor mean = random_tensor({4, 3}), logv = random_tensor({4, 3}, -2, 2);
  Tensor kl = ops::gaussian_kl(mean, logv);
  CHECK((kl.shape() == Shape{4}));
  std::vector<double> kref(4, 0.0), dm, dl;
  Tensor dkl = random_tensor({4});
  for (int b = 0; b < 4; ++b) {
    for (int j = 0; j < 3; ++j) {
      const double m = mean.f32()[b * 3 + j], l = logv.f32()[b * 3 + j];
      kref[b] += -0.5 * (1 + l - m * m - std::exp(l));
      dm.push_back(dkl.f32()[b] * m);
      dl.push_back(0.5 * dkl.f32()[b] * (std::exp(l) - 1));
    }
  }
  CHECK_CLOSE(kl.f32(), kref, 1e-6, 1e-6);
  Tensor dmean, dlogv;
  ops::gaussian_kl_backward(mean, logv, dkl, dmean, dlogv);
  CHECK_CLOSE(dmean.f32(), dm, 1e-6, 1e-6);
  CHECK_CLOSE(dlogv.f32(), dl, 1e-6, 1e-6);
  EXPECT_ERROR(code::kShape, "logv", [&] { ops::gaussian_kl(mean, random_tensor({4, 2})); });
}

void test_decode_pick() {
  // Row 1 has two equal maxima: the first wins.
  const std::vector<float> logits_v = {0.1f, 2.0f, -1.0f, 0.5f, 3.0f, 3.0f, 0.0f, 1.0f, -2.0f};
  Tensor logits = ops::from_host(logits_v.data(), {3, 3}, DType::F32, Device::CPU);
  Tensor teacher = int_tensor({7, 8});
  Tensor predicted, chosen;
  const uint64_t seed = 99, offset = 4;
  const int64_t base = 10;
  ops::decode_pick(logits, teacher, 0.5f, 0.0f, seed, offset, base, predicted, chosen);
  CHECK(predicted.i32()[0] == 1 && predicted.i32()[1] == 1 && predicted.i32()[2] == 1);
  CHECK(chosen.numel() == 2);
  for (int m = 0; m < 2; ++m) {
    const bool truth = philox_uniform(seed, offset, 2 * static_cast<uint64_t>(base + m)) < 0.5f;
    CHECK(chosen.i32()[m] == (truth ? teacher.i32()[m] : predicted.i32()[m]));
  }
  // Without a teacher the picks are the predictions; with a temperature they are draws.
  ops::decode_pick(logits, Tensor(), 0.0f, 0.0f, seed, offset, base, predicted, chosen);
  CHECK(chosen.numel() == 3 && chosen.i32()[2] == predicted.i32()[2]);
  ops::decode_pick(logits, Tensor(), 0.0f, 1.0f, seed, offset, base, predicted, chosen);
  for (int m = 0; m < 3; ++m) {
    const float u = philox_uniform(seed, offset, 2 * static_cast<uint64_t>(base + m) + 1);
    double total = 0, acc = 0;
    float mx = logits_v[m * 3];
    for (int j = 1; j < 3; ++j) mx = std::max(mx, logits_v[m * 3 + j]);
    for (int j = 0; j < 3; ++j) total += std::exp(logits_v[m * 3 + j] - mx);
    int want = 2;
    for (int j = 0; j < 3; ++j) {
      acc += std::exp(logits_v[m * 3 + j] - mx);
      if (acc > u * total) {
        want = j;
        break;
      }
    }
    CHECK(predicted.i32()[m] == want);
  }
  EXPECT_ERROR(code::kShape, "teacher", [&] {
    ops::decode_pick(logits, int_tensor({1, 2, 3, 4}), 0.5f, 0.0f, 1, 0, 0, predicted, chosen);
  });
  EXPECT_ERROR(code::kArgument, "teacher_ratio", [&] {
    ops::decode_pick(logits, teacher, 1.5f, 0.0f, 1, 0, 0, predicted, chosen);
  });
}

void test_decode_matches_scan(CellKind cell) {
  const int64_t V = 7, E = 4, H = 3, G = gate_count(cell);
  const std::vector<int32_t> bs = {3, 2, 2, 1};
  const int64_t N = 8;
  ops::DecodeWeights w;
  w.embedding = random_tensor({V, E});
  for (int l = 0; l < 2; ++l) {
    LayerWeights lw;
    lw.w_ih = random_tensor({G * H, l == 0 ? E : H}, -0.5, 0.5);
    lw.w_hh = random_tensor({G * H, H}, -0.5, 0.5);
    lw.b_ih = random_tensor({G * H}, -0.1, 0.1);
    lw.b_hh = random_tensor({G * H}, -0.1, 0.1);
    w.layers.push_back(lw);
  }
  w.out_w = random_tensor({V, H});
  w.out_b = random_tensor({V}, -0.1, 0.1);
  std::vector<Tensor> h0 = {random_tensor({3, H}), random_tensor({3, H})};
  std::vector<Tensor> c0;
  if (cell == CellKind::LSTM) c0 = {random_tensor({3, H}), random_tensor({3, H})};
  Tensor inputs = int_tensor({2, 2, 2, 5, 6, 1, 4, 3});
  Tensor mask = random_tensor({N, E}, 0, 2);

  ops::DecodeSpec spec;
  spec.cell = cell;
  spec.batch_sizes = bs;
  spec.teacher_ratio = 1.0f;
  ops::DecodeForward f = ops::autoregressive_decode_forward(spec, inputs, w, h0, c0, mask);
  CHECK(f.batch_sizes == bs);
  for (int64_t i = 0; i < N; ++i) CHECK(f.inputs.i32()[i] == inputs.i32()[i]);

  // The reference: the whole packed batch through each layer at once.
  LayerSpec ls;
  ls.cell = cell;
  ls.batch_sizes = bs;
  Tensor x = ops::mul(ops::embedding_forward(w.embedding, inputs), mask);
  std::vector<LayerForward> ref;
  Tensor layer_in = x;
  for (int l = 0; l < 2; ++l) {
    ref.push_back(ops::rnn_layer_forward(ls, layer_in, w.layers[l], h0[l], c0.empty() ? Tensor() : c0[l]));
    layer_in = ref.back().y;
  }
  Tensor logits = ops::linear_forward(layer_in, w.out_w, w.out_b);
  CHECK_CLOSE(f.logits.f32(), to_double(logits), 1e-5, 1e-5);
  for (int l = 0; l < 2; ++l) {
    CHECK_CLOSE(f.layers[l].y.f32(), to_double(ref[l].y), 1e-5, 1e-5);
    CHECK_CLOSE(f.layers[l].h_n.f32(), to_double(ref[l].h_n), 1e-5, 1e-5);
    CHECK_CLOSE(f.layers[l].workspace.f32(), to_double(ref[l].workspace), 1e-5, 1e-5);
    if (cell == CellKind::LSTM) CHECK_CLOSE(f.layers[l].c_n.f32(), to_double(ref[l].c_n), 1e-5, 1e-5);
  }

  Tensor dlogits = random_tensor({N, V});
  ops::DecodeGradients g = ops::autoregressive_decode_backward(spec, w, h0, c0, mask, f, dlogits);
  Tensor dy, dw, db;
  ops::linear_backward(dlogits, ref[1].y, w.out_w, true, true, dy, dw, db);
  CHECK_CLOSE(g.d_out_w.f32(), to_double(dw), 1e-5, 1e-5);
  CHECK_CLOSE(g.d_out_b.f32(), to_double(db), 1e-5, 1e-5);
  for (int l = 1; l >= 0; --l) {
    LayerGradients lg = ops::rnn_layer_backward(ls, l == 0 ? x : ref[0].y, w.layers[l], h0[l],
                                                c0.empty() ? Tensor() : c0[l], ref[l], dy, Tensor(), Tensor());
    CHECK_CLOSE(g.layers[l].dw_ih.f32(), to_double(lg.dw_ih), 1e-4, 1e-4);
    CHECK_CLOSE(g.layers[l].dw_hh.f32(), to_double(lg.dw_hh), 1e-4, 1e-4);
    CHECK_CLOSE(g.layers[l].dh0.f32(), to_double(lg.dh0), 1e-4, 1e-4);
    dy = lg.dx;
  }
  Tensor de = ops::embedding_backward(ops::mul(dy, mask), inputs, V);
  CHECK_CLOSE(g.d_embedding.f32(), to_double(de), 1e-4, 1e-4);

  // Free running: step t reads the pick of step t - 1 for the same sequence.
  spec.teacher_ratio = 0.0f;
  ops::DecodeForward free = ops::autoregressive_decode_forward(spec, inputs, w, h0, c0, Tensor());
  int64_t off = 0;
  for (size_t t = 0; t < bs.size(); ++t) {
    for (int32_t b = 0; b < bs[t]; ++b) {
      const int32_t want = t == 0 ? inputs.i32()[b] : free.predicted.i32()[off - bs[t - 1] + b];
      CHECK(free.inputs.i32()[off + b] == want);
    }
    off += bs[t];
  }
  EXPECT_ERROR(code::kIndex, "inputs", [&] { ops::autoregressive_decode_forward(spec, int_tensor({2, 2, 2, 5, 6, 1, 4, 70}), w, h0, c0, Tensor()); });
  EXPECT_ERROR(code::kShape, "h0[1]", [&] {
    std::vector<Tensor> bad = {h0[0], random_tensor({2, H})};
    ops::autoregressive_decode_forward(spec, inputs, w, bad, c0, Tensor());
  });
}

}  // namespace

int main() {
  test_exp_and_kl();
  test_decode_pick();
  test_decode_matches_scan(CellKind::GRU);
  test_decode_matches_scan(CellKind::LSTM);
  test_decode_matches_scan(CellKind::RNN_TANH);
  return test::finish("test_decode");
}
