// Every path of a recurrent layer follows the one cell maths (ops/rnn/cell_math.h): the
// CPU's fused kernels and unfused element-wise passes, in an emulator build (RNNLM_CUDA_EMULATION)
// the CUDA fused and unfused kernels too, and the tests' double-precision reference agree, while a golden check against values recorded from today's engine tells
// whether the maths itself moved.
//
// CI builds this test a second time with RNNLM_CELL_MATH_PLANT, which changes one gate formula
// in cell_math.h only (the LSTM forget gate). Then the golden check must fail and every
// agreement must still hold: one edit moved every path (and the backward still matches the
// central differences of the planted forward). Without the plant the golden check must pass.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <exception>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "test_rnn_reference.h"

namespace {

using namespace rnn_reference;

#if defined(RNNLM_CELL_MATH_PLANT)
constexpr bool kPlanted = true;
#else
constexpr bool kPlanted = false;
#endif

// y of the golden problem (below), first and last 4 values, recorded from the fused CPU path.
const float kGoldenHead[4] = {0.526828766f, -0.250794321f, -0.0602852292f, 0.086963065f};
const float kGoldenTail[4] = {0.0784443021f, 0.230025932f, -0.177671939f, 0.0348938033f};

// A 3-step LSTM with initial states, so that the forget gate scales a non-zero c_prev.
Problem golden_problem() {
  Problem p = make_problem(CellKind::LSTM, {2, 2, 1}, 3, 4);
  p.has_h0 = p.has_c0 = true;
  return p;
}

#if defined(RNNLM_HAVE_CUDA)
// Whether the CUDA backend runs here (always in an emulator build; a GPU build needs a GPU).
bool cuda_usable() {
  static const bool usable = [] {
    try {
      rnnlm::backend_for(Device::CUDA);
      return true;
    } catch (const std::exception& e) {
      std::printf("cuda paths not checked: %s\n", e.what());
      return false;
    }
  }();
  return usable;
}
#endif

void test_golden() {
  const Problem problem = golden_problem();
  const EngineResult r = run_engine(problem, true);
  if (std::getenv("RNNLM_PRINT_GOLDEN") != nullptr) {
    for (size_t i = 0; i < r.y.size(); ++i) std::printf("%.9g%s", r.y[i], i + 1 < r.y.size() ? ", " : "\n");
  }
  bool same = r.y.size() == 20;
  for (int k = 0; same && k < 4; ++k) {
    same = std::fabs(r.y[k] - kGoldenHead[k]) <= 1e-6f && std::fabs(r.y[16 + k] - kGoldenTail[k]) <= 1e-6f;
  }
  std::printf("golden LSTM outputs %s (RNNLM_CELL_MATH_PLANT %s)\n", same ? "unchanged" : "moved",
              kPlanted ? "defined" : "not defined");
  CHECK(same == !kPlanted);
#if defined(RNNLM_HAVE_CUDA)
  if (cuda_usable()) {
    const EngineResult c = run_engine(problem, true, Device::CUDA);
    compare("golden problem, cuda fused vs cpu fused y", c.y, Vec(r.y.begin(), r.y.end()), 1e-6, 1e-5);
    std::printf("cuda kernels checked on the same problems\n");
  }
#endif
}

// Fused against unfused (everything, forward and backward) and both against the reference.
void check_paths(CellKind cell) {
  Problem p = make_problem(cell, {5, 4, 4, 2, 1}, 6, 19);  // H = 19: vector loops and their tails
  p.has_h0 = p.has_c0 = p.has_dhn = p.has_dcn = true;
  const std::string what = std::string(rnnlm::cell_kind_name(cell));
  const EngineResult fused = run_engine(p, true);
  const EngineResult unfused = run_engine(p, false);
  const RefOut ref = reference(p);
  std::vector<std::pair<std::string, EngineResult>> runs = {{"cpu fused", fused}, {"cpu unfused", unfused}};
#if defined(RNNLM_HAVE_CUDA)
  if (cuda_usable()) {
    runs.push_back({"cuda fused", run_engine(p, true, Device::CUDA)});
    runs.push_back({"cuda unfused", run_engine(p, false, Device::CUDA)});
  }
#endif
  for (const auto& [path, r] : runs) {
    const std::string label = what + " " + path + " vs reference";
    compare(label + " y", r.y, ref.y, 2e-5, 2e-4);
    compare(label + " h_n", r.hn, ref.hn, 2e-5, 2e-4);
    if (cell == CellKind::LSTM) compare(label + " c_n", r.cn, ref.cn, 2e-5, 2e-4);
    if (path == "cpu fused") continue;
    compare_gradients(what + " " + path + " vs cpu fused", r, fused, cell == CellKind::LSTM);
  }
  // The backward follows the forward: db_hh against central differences of the reference loss.
  Vec numeric(p.b_hh.size());
  for (size_t i = 0; i < p.b_hh.size(); ++i) {
    const double keep = p.b_hh[i], eps = 1e-6;
    p.b_hh[i] = keep + eps;
    const double up = loss(p);
    p.b_hh[i] = keep - eps;
    const double down = loss(p);
    p.b_hh[i] = keep;
    numeric[i] = (up - down) / (2 * eps);
  }
  compare(what + " fused db_hh vs central differences", fused.db_hh, numeric, 2e-5, 2e-4);
}

}  // namespace

int main() {
  test_golden();  // first: its problem comes from the start of the test generator's sequence
  for (CellKind cell : {CellKind::LSTM, CellKind::GRU, CellKind::RNN_TANH, CellKind::RNN_RELU}) check_paths(cell);
  return test::finish("test_cell_paths");
}
