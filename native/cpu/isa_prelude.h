// Every header a CPU kernel variant's sources share with the rest of the engine, included by the
// generated variant wrappers (cmake/isa_wrapper.cpp.in) before they turn on the variant's
// instruction set: whatever these define stays compiled for the baseline (see isa_variant.h).
// A header missing here would still work, but its inline functions would be compiled for the
// variant's instructions and could be the copy that baseline code links to. The other way round,
// a baseline function can be inlined into a variant's code (and is then compiled for the
// variant) but cannot inline a variant's function: callbacks a shared template calls in a hot
// loop (fast_math.h's CellFunctions for cell_math.h) must therefore be baseline code too.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "core/backend.h"
#include "core/cell.h"
#include "core/error.h"
#include "core/host_device.h"
#include "core/thread_pool.h"
#include "cpu/cpu_backend.h"
#include "cpu/fast_math.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "ops/rnn/bias_fold.h"
#include "ops/rnn/cell_math.h"
#include "ops/rnn/packed_walk.h"
#include "ops/rnn/workspace_layout.h"
