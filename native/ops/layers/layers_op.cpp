// Validated public API, part 2: embedding, linear, dropout, softmax-NLL, log-softmax and the
// Gaussian KL term.
#include "core/check.h"
#include "core/ops.h"

namespace rnnlm::ops {

namespace {
std::string num(int64_t v) { return std::to_string(v); }
}  // namespace

// --- embedding --------------------------------------------------------------------------------

namespace {
// Every id in [0, vocab); the message gives the first offending id and where it sits.
void check_ids(const Tensor& ids, int64_t vocab, const char* op) {
  check::HostI32 host(ids);
  const int32_t* ix = host.data();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (ix[i] >= 0 && ix[i] < vocab) continue;
    fail(code::kIndex, std::string(op) + ": ids" + check::position(ids.shape(), i) + " = " +
                           num(ix[i]) + " is out of range for a vocabulary of " + num(vocab) +
                           " (expected [0, " + num(vocab) + "))");
  }
}
}  // namespace

Tensor embedding_forward(const Tensor& weight, const Tensor& ids) {
  const char* op = "embedding";
  check::dtype(weight, DType::F32, op, "weight");
  check::rank(weight, 2, op, "weight", "(V, E)");
  check::dtype(ids, DType::I32, op, "ids");
  check::same_device(ids, weight, op, "ids", "weight");
  check_ids(ids, weight.dim(0), op);
  return backend_for(weight.device()).embedding_forward(weight, ids);
}

Tensor embedding_backward(const Tensor& dy, const Tensor& ids, int64_t vocab) {
  const char* op = "embedding_backward";
  check::dtype(dy, DType::F32, op, "dy");
  check::dtype(ids, DType::I32, op, "ids");
  check::same_device(ids, dy, op, "ids", "dy");
  RNNLM_CHECK(vocab >= 1, code::kArgument,
              std::string(op) + ": vocab must be >= 1, got " + num(vocab));
  const bool shaped = dy.ndim() == ids.ndim() + 1 &&
                      Shape(dy.shape().begin(), dy.shape().end() - 1) == ids.shape();
  RNNLM_CHECK(shaped, code::kShape,
              std::string(op) + ": dy must be ids.shape ++ (E) with ids.shape = " +
                  shape_str(ids.shape()) + ", got " + shape_str(dy.shape()));
  check_ids(ids, vocab, op);
  return backend_for(dy.device()).embedding_backward(dy, ids, vocab);
}

// --- linear -----------------------------------------------------------------------------------

namespace {
void check_linear(const Tensor& x, const Tensor& w, const char* op) {
  check::dtype(x, DType::F32, op, "x");
  check::rank(x, 2, op, "x", "(N, In)");
  check::dtype(w, DType::F32, op, "w");
  check::same_device(w, x, op, "w", "x");
  check::rank(w, 2, op, "w", "(Out, In)");
  check::shape(w, {w.dim(0), x.dim(1)}, op, "w", "(Out, In)", "In = " + num(x.dim(1)));
}
}  // namespace

Tensor linear_forward(const Tensor& x, const Tensor& w, const Tensor& b) {
  const char* op = "linear";
  check_linear(x, w, op);
  if (b.defined()) {
    check::dtype(b, DType::F32, op, "b");
    check::same_device(b, x, op, "b", "x");
    check::shape(b, {w.dim(0)}, op, "b", "(Out)", "Out = " + num(w.dim(0)));
  }
  return backend_for(x.device()).linear_forward(x, w, b);
}

void linear_backward(const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias,
                     bool need_dx, Tensor& dx, Tensor& dw, Tensor& db) {
  const char* op = "linear_backward";
  check_linear(x, w, op);
  check::dtype(dy, DType::F32, op, "dy");
  check::same_device(dy, x, op, "dy", "x");
  check::shape(dy, {x.dim(0), w.dim(0)}, op, "dy", "(N, Out)",
               "N = " + num(x.dim(0)) + ", Out = " + num(w.dim(0)));
  backend_for(x.device()).linear_backward(dy, x, w, has_bias, need_dx, dx, dw, db);
}

// --- dropout ----------------------------------------------------------------------------------

void dropout_forward(const Tensor& x, float p, uint64_t seed, uint64_t offset, Tensor& y,
                     Tensor& mask) {
  check::dtype(x, DType::F32, "dropout", "x");
  check::in_range(p, 0.0, 1.0, false, "dropout", "p");
  backend_for(x.device()).dropout_forward(x, p, seed, offset, y, mask);
}

// --- softmax ----------------------------------------------------------------------------------

SoftmaxNllResult softmax_nll(const Tensor& logits, const Tensor& targets, int32_t ignore_index,
                             Reduction reduction) {
  const char* op = "softmax_nll";
  check::dtype(logits, DType::F32, op, "logits");
  check::rank(logits, 2, op, "logits", "(N, V)");
  check::dtype(targets, DType::I32, op, "targets");
  check::same_device(targets, logits, op, "targets", "logits");
  check::shape(targets, {logits.dim(0)}, op, "targets", "(N)", "N = " + num(logits.dim(0)));
  RNNLM_CHECK(reduction == Reduction::Mean || reduction == Reduction::Sum, code::kArgument,
              std::string(op) + ": unknown reduction " + num(static_cast<int>(reduction)));
  const int64_t v = logits.dim(1);
  check::HostI32 host(targets);
  const int32_t* t = host.data();
  for (int64_t i = 0; i < targets.numel(); ++i) {
    if (t[i] == ignore_index || (t[i] >= 0 && t[i] < v)) continue;
    fail(code::kIndex, std::string(op) + ": targets[" + num(i) + "] = " + num(t[i]) +
                           " is out of range for " + num(v) + " classes (expected [0, " + num(v) +
                           ") or ignore_index = " + num(ignore_index) + ")");
  }
  return backend_for(logits.device()).softmax_nll(logits, targets, ignore_index, reduction);
}

Tensor log_softmax(const Tensor& logits) {
  check::dtype(logits, DType::F32, "log_softmax", "logits");
  check::rank(logits, 2, "log_softmax", "logits", "(N, V)");
  return backend_for(logits.device()).log_softmax(logits);
}

// --- Gaussian KL --------------------------------------------------------------------------------

namespace {
void check_gaussian(const Tensor& mean, const Tensor& logv, const char* op) {
  check::dtype(mean, DType::F32, op, "mean");
  check::rank(mean, 2, op, "mean", "(B, Z)");
  check::dtype(logv, DType::F32, op, "logv");
  check::same_device(logv, mean, op, "logv", "mean");
  check::same_shape(logv, mean, op, "logv", "mean");
}
}  // namespace

Tensor gaussian_kl(const Tensor& mean, const Tensor& logv) {
  check_gaussian(mean, logv, "gaussian_kl");
  return backend_for(mean.device()).gaussian_kl(mean, logv);
}

void gaussian_kl_backward(const Tensor& mean, const Tensor& logv, const Tensor& dkl, Tensor& dmean,
                          Tensor& dlogv) {
  const char* op = "gaussian_kl_backward";
  check_gaussian(mean, logv, op);
  check::dtype(dkl, DType::F32, op, "dkl");
  check::same_device(dkl, mean, op, "dkl", "mean");
  check::shape(dkl, {mean.dim(0)}, op, "dkl", "(B)", "B = " + num(mean.dim(0)));
  backend_for(mean.device()).gaussian_kl_backward(mean, logv, dkl, dmean, dlogv);
}

}  // namespace rnnlm::ops
