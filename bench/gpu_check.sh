#!/usr/bin/env bash
# One command on a GPU machine (issue 12 §3): build for the local GPU, run the parity suite, the
# test suite with RNNLM_DEVICE=cuda and the determinism check, benchmark one training step against
# PyTorch + cuDNN (default and strict FP32) when PyTorch with CUDA is installed, train the char
# recipe once on each side and evaluate both, then write bench/results/compare_cuda.md.
# Needs no network. Every phase has a time limit and the whole run a budget (8 minutes by default).
#
#   bash bench/gpu_check.sh [--no-build] [--data FILE] [--out DIR] [--budget SECONDS] [--no-train]
#
#   --no-build     use the addon and dist/ as they are (also: RNNLM_ADDON set skips the native build)
#   --data FILE    tinyshakespeare's input.txt (default: shared/data/tinyshakespeare/input.txt
#                  beside or above the checkout)
#   --out DIR      raw logs and JSONL (default: bench/results/gpu-<date>)
#   --budget S     seconds for the whole run (default 480); a phase gets what is left, at most
#   --no-train     leave out the char-recipe training on both sides
# Environment: NODE (a node binary when none is on PATH), PYTHON (default python3),
#   RNNLM_ADDON (a built addon: skips the native build), RNNLM_CUDA_DEVICE, RNNLM_CUBLAS_LIBRARY.
# Exit status: 0 when every phase passed; 1 when one failed or ran out of time; 2 when something
# needed is missing (Node.js, node_modules, data, nvcc / cmake for the build); 3 without an NVIDIA
# driver or a usable GPU.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT" || exit 2

die() { # die STATUS MESSAGE: say what is missing, at once
  echo "gpu_check: $2" >&2
  exit "$1"
}

NO_BUILD=0
NO_TRAIN=0
DATA=""
OUT_DIR=""
BUDGET=480
while (($#)); do
  case "$1" in
    --no-build) NO_BUILD=1 ;;
    --no-train) NO_TRAIN=1 ;;
    --data) DATA=${2:?--data needs a file}; shift ;;
    --out) OUT_DIR=${2:?--out needs a folder}; shift ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ $BUDGET =~ ^[0-9]+$ ]] || die 2 "--budget takes whole seconds, not $BUDGET"

# --- what must be here before anything runs ---------------------------------------------------

NODE=${NODE:-$(command -v node || true)}
[[ -n $NODE && -x $NODE ]] || die 2 "Node.js not found: put node (20 or newer) on PATH or set NODE=/path/to/node"
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null) || die 2 "$NODE does not run"
((NODE_MAJOR >= 20)) || die 2 "Node.js $("$NODE" --version) is too old: rnnlm needs 20 or newer ($NODE)"
NODE=$(cd "$(dirname "$NODE")" && pwd)/$(basename "$NODE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rnnlm-gpu-check.XXXXXX") # scratch: checkpoints, too large for the results
trap 'rm -rf "$WORK"' EXIT
if [[ $(command -v node || true) != "$NODE" ]]; then
  # children that spawn `node` get this one; a folder with nothing else keeps python3, cmake and
  # nvcc as PATH finds them
  mkdir -p "$WORK/bin" && ln -s "$NODE" "$WORK/bin/node"
  PATH="$WORK/bin:$PATH"
  export PATH
fi

for tool in uvu/bin.js tsx/package.json typescript/bin/tsc cmake-js/bin/cmake-js; do
  [[ -e node_modules/$tool ]] || die 2 "node_modules/$tool is missing: run npm ci where there is a network and bring node_modules along"
done

command -v nvidia-smi >/dev/null || die 3 "no nvidia-smi: no NVIDIA driver is installed on this machine"
SMI_LIST=$(nvidia-smi -L 2>&1) || die 3 "nvidia-smi fails, so no usable driver or GPU: $SMI_LIST"
grep -q '^GPU ' <<<"$SMI_LIST" || die 3 "nvidia-smi lists no GPU: $SMI_LIST"

if ((!NO_TRAIN)); then
  if [[ -z $DATA ]]; then
    for candidate in "$ROOT/shared/data/tinyshakespeare/input.txt" "$ROOT/../shared/data/tinyshakespeare/input.txt"; do
      [[ -f $candidate ]] && DATA=$candidate && break
    done
  fi
  [[ -n $DATA && -f $DATA ]] || die 2 "tinyshakespeare not found${DATA:+ at $DATA}: pass --data path/to/input.txt (or --no-train)"
  DATA=$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")
fi

BUILD_NATIVE=1
((NO_BUILD)) && BUILD_NATIVE=0
[[ -n ${RNNLM_ADDON:-} ]] && BUILD_NATIVE=0
if ((BUILD_NATIVE)); then
  command -v cmake >/dev/null || die 2 "cmake not found: needed to build the addon (or pass --no-build / set RNNLM_ADDON)"
  NVCC=""
  for candidate in "$(command -v nvcc || true)" "${CUDACXX:-}" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc; do
    [[ -n $candidate && -x $candidate ]] && NVCC=$candidate && break
  done
  [[ -n $NVCC ]] || die 2 "nvcc not found (PATH, CUDACXX, CUDA_HOME/bin, /usr/local/cuda/bin): needed to build the CUDA backend (or pass --no-build / set RNNLM_ADDON)"
  # cmake-js compiles against Node's headers and downloads them when it finds none; offline, name
  # a folder holding include/node/node.h: npm's nodedir, the Node tarball the binary came from,
  # the system's, or cmake-js's cache.
  NODE_VERSION=$("$NODE" --version)
  NODE_ARCH=$("$NODE" -p process.arch)
  NODE_HEADERS=""
  for candidate in "${npm_config_nodedir:-}" "$(dirname "$(dirname "$NODE")")" /usr /usr/local "$HOME/.cmake-js/node-$NODE_ARCH/$NODE_VERSION"; do
    [[ -n $candidate && -f $candidate/include/node/node.h ]] && NODE_HEADERS=$candidate && break
  done
  [[ -n $NODE_HEADERS ]] || die 2 "no Node.js headers (include/node/node.h) for building the addon, and no network to fetch them: bring the Node tarball (its include/ beside bin/), set npm_config_nodedir=DIR, or build elsewhere and pass --no-build / RNNLM_ADDON"
  export npm_config_nodedir=$NODE_HEADERS
fi
if ((NO_BUILD)); then
  [[ -f dist/cli/main.js ]] || die 2 "dist/cli/main.js is missing and --no-build was given: run node node_modules/typescript/bin/tsc -p tsconfig.json"
fi

# rnnlm's own view: `cuda` is null without a usable GPU and cudaReason says why.
check_rnnlm_gpu() { # check_rnnlm_gpu INFO_JSON
  "$NODE" dist/cli/main.js info --json >"$1" 2>&1 || die 3 "rnnlm info failed: $(tail -n 5 "$1")"
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  "$NODE" -e '
    const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (i.cuda) { console.log(`rnnlm sees ${i.cuda}`); process.exit(0); }
    console.error(`gpu_check: rnnlm has no usable GPU: ${i.cudaCompiled ? i.cudaReason ?? "no reason given" : "this addon has no CUDA backend (built without nvcc or cuBLAS?)"} (addon ${i.addon})`);
    if (/cublas/i.test(String(i.cudaReason))) console.error("gpu_check: RNNLM_CUBLAS_LIBRARY=/path/to/libcublas.so.N names one (PyTorch wheels ship it under nvidia/*/lib)");
    process.exit(3);' "$1" || exit 3
}

PYTHON=${PYTHON:-python3}
HAVE_TORCH=0
if command -v "$PYTHON" >/dev/null && "$PYTHON" -c "import torch; assert torch.cuda.is_available()" >/dev/null 2>&1; then
  HAVE_TORCH=1
else
  echo "gpu_check: no PyTorch with CUDA ($PYTHON -c 'import torch; assert torch.cuda.is_available()' fails): the PyTorch columns and the PyTorch training are left out"
fi

# --- results folder, phases ---------------------------------------------------------------------

if [[ -z $OUT_DIR ]]; then
  OUT_DIR=bench/results/gpu-$(date -u +%Y-%m-%d)
  [[ -e $OUT_DIR ]] && OUT_DIR=bench/results/gpu-$(date -u +%Y-%m-%d-%H%M%S)
fi
mkdir -p "$OUT_DIR" || die 2 "cannot create $OUT_DIR"
RES=$(cd "$OUT_DIR" && pwd)
: >"$RES/phases.tsv"
git rev-parse --short HEAD >"$RES/commit.txt" 2>/dev/null || rm -f "$RES/commit.txt"
nvidia-smi >"$RES/nvidia-smi.txt" 2>&1
GPU_INDEX=${RNNLM_CUDA_DEVICE:-0}
nvidia-smi --id="$GPU_INDEX" --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$RES/nvidia-smi-query.csv" 2>&1
echo "gpu_check: $(head -n 1 "$RES/nvidia-smi-query.csv"); results in $RES"

START=$(date +%s)
DEADLINE=$((START + BUDGET))
FAILED=0

now_ms() { date +%s%3N; }

phase_begin() { # phase_begin NAME CAP_SECONDS
  PHASE=$1
  PHASE_T0=$(now_ms)
  PHASE_DEADLINE=$(($(date +%s) + $2))
  ((PHASE_DEADLINE > DEADLINE)) && PHASE_DEADLINE=$DEADLINE
  printf '== %-16s (at %3ds, limit %3ds)\n' "$PHASE" $(($(date +%s) - START)) $((PHASE_DEADLINE - $(date +%s)))
}

# limited CMD...: runs CMD under what is left of the phase's time (124: out of time)
limited() {
  local left=$((PHASE_DEADLINE - $(date +%s)))
  ((left > 0)) || return 124
  timeout --kill-after=10 "$left" "$@"
}

phase_end() { # phase_end RC [LOG] [NOTE]
  local rc=$1 log=${2:-} note=${3:-} status=ok
  local seconds
  seconds=$(awk -v a="$PHASE_T0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
  case $rc in
    0) ;;
    124 | 137) status=timeout; note="out of time${note:+; $note}" ;;
    *) status=failed; note="exit $rc${note:+; $note}" ;;
  esac
  [[ $status == ok ]] || FAILED=1
  printf '%s\t%s\t%s\t%s\n' "$PHASE" "$status" "$seconds" "$note" >>"$RES/phases.tsv"
  printf '   %-16s %s in %ss%s\n' "$PHASE" "$status" "$seconds" "${note:+ ($note)}"
  if [[ $status != ok && -n $log && -f $log ]]; then
    echo "   last lines of $log:"
    tail -n 15 "$log" | sed 's/^/   | /'
  fi
}

skip_phase() { # skip_phase NAME WHY
  printf '%s\t%s\t%s\t%s\n' "$1" skipped 0 "$2" >>"$RES/phases.tsv"
  printf '== %-16s skipped: %s\n' "$1" "$2"
}

UVU=("$NODE" node_modules/uvu/bin.js -r tsx test) # then the pattern of test files

# --- build ----------------------------------------------------------------------------------------

if ((BUILD_NATIVE)); then
  # `cmake-js compile` keeps an existing configuration and its options; configure explicitly, in
  # place when build/ was configured for this checkout (ninja then rebuilds what changed), from
  # clean when it was made elsewhere.
  CONFIGURE=reconfigure
  grep -qxF "CMAKE_HOME_DIRECTORY:INTERNAL=$ROOT" build/CMakeCache.txt 2>/dev/null && CONFIGURE=configure
  phase_begin build-addon 300
  limited "$NODE" node_modules/cmake-js/bin/cmake-js "$CONFIGURE" --CDRNNLM_CUDA=ON --CDRNNLM_CUDA_ARCHITECTURES=native >"$RES/build.txt" 2>&1 &&
    limited "$NODE" node_modules/cmake-js/bin/cmake-js build --parallel "$(nproc)" >>"$RES/build.txt" 2>&1
  rc=$?
  phase_end $rc "$RES/build.txt" "cmake-js $CONFIGURE, RNNLM_CUDA=ON, architectures native, Node headers $npm_config_nodedir"
  ((rc == 0)) || die 1 "the addon did not build (log: $RES/build.txt)"
else
  if ((NO_BUILD)); then skip_phase build-addon "--no-build"; else skip_phase build-addon "RNNLM_ADDON=$RNNLM_ADDON"; fi
fi
if ((!NO_BUILD)); then
  phase_begin build-ts 90
  limited "$NODE" node_modules/typescript/bin/tsc -p tsconfig.json >"$RES/tsc.txt" 2>&1
  rc=$?
  phase_end $rc "$RES/tsc.txt"
  ((rc == 0)) || die 1 "TypeScript did not compile (log: $RES/tsc.txt)"
fi
check_rnnlm_gpu "$RES/info.json"

# --- tests ----------------------------------------------------------------------------------------

phase_begin parity 150
limited "${UVU[@]}" 'cuda_parity\.test\.ts$' >"$RES/parity.txt" 2>&1
phase_end $? "$RES/parity.txt"

# The two CUDA files run in their own phases; every other test file runs here on the GPU.
phase_begin suite 180
RNNLM_DEVICE=cuda limited "${UVU[@]}" '^(?!cuda_parity\.|cuda_determinism\.)[^/]*\.test\.ts$' >"$RES/suite.txt" 2>&1
phase_end $? "$RES/suite.txt"

phase_begin determinism 90
limited "${UVU[@]}" 'cuda_determinism\.test\.ts$' >"$RES/determinism.txt" 2>&1
phase_end $? "$RES/determinism.txt"

# --- one training step against PyTorch -------------------------------------------------------------

# name cell vocab embedding hidden layers batch seq (render_compare_cuda.mjs names rows the same)
CONFIGS=(
  "char-small lstm 65 64 256 1 32 64"
  "char-large lstm 80 128 512 2 64 128"
  "char-gru gru 80 128 512 2 64 128"
  "word-medium lstm 10000 650 650 2 20 35"
  "char-rnn rnn 80 128 512 2 64 128"
  "lstm-1024x2 lstm 80 128 1024 2 128 64"
  "gru-1024x2 gru 80 128 1024 2 128 64"
)
BENCH_STEPS=20
BENCH_WARMUP=5

phase_begin bench-rnnlm 90
: >"$RES/bench_rnnlm.jsonl"
: >"$RES/bench_rnnlm.stderr.txt"
rc=0
for config in "${CONFIGS[@]}"; do
  read -r _ cell vocab embedding hidden layers batch seq <<<"$config"
  limited "$NODE" dist/cli/main.js bench --device cuda --mode both --json --steps $BENCH_STEPS --warmup $BENCH_WARMUP \
    --cell "$cell" --vocab "$vocab" --embedding "$embedding" --hidden "$hidden" --layers "$layers" --batch "$batch" --seq "$seq" \
    >>"$RES/bench_rnnlm.jsonl" 2>>"$RES/bench_rnnlm.stderr.txt"
  r=$?
  ((r == 0)) || rc=$r
  ((r == 124 || r == 137)) && break
done
phase_end $rc "$RES/bench_rnnlm.stderr.txt"

# All configurations in one Python process per precision mode (importing torch and starting CUDA
# once), through bench/pytorch_step.py's own bench().
TORCH_BENCH='
import json, sys
sys.path.insert(0, "bench")
import pytorch_step as ps
import torch
strict, steps, warmup = sys.argv[1] == "strict", int(sys.argv[2]), int(sys.argv[3])
if strict:
    ps.use_strict_fp32()
for config in sys.argv[4:]:
    cell, *sizes = config.split()[1:]
    cfg = dict(cell=cell, **dict(zip(("vocab", "embedding", "hidden", "layers", "batch", "seq"), map(int, sizes))))
    print(json.dumps(ps.bench(cfg, steps, warmup, torch.get_num_threads(), 0.0, 0, "cuda")), flush=True)
'
if ((HAVE_TORCH)); then
  phase_begin bench-torch 90
  limited "$PYTHON" -c "$TORCH_BENCH" default $BENCH_STEPS $BENCH_WARMUP "${CONFIGS[@]}" \
    >"$RES/bench_torch.jsonl" 2>"$RES/bench_torch.stderr.txt"
  phase_end $? "$RES/bench_torch.stderr.txt" "TF32 allowed (PyTorch's default)"
  phase_begin bench-torch-fp32 90
  NVIDIA_TF32_OVERRIDE=0 limited "$PYTHON" -c "$TORCH_BENCH" strict $BENCH_STEPS $BENCH_WARMUP "${CONFIGS[@]}" \
    >"$RES/bench_torch_strict.jsonl" 2>"$RES/bench_torch_strict.stderr.txt"
  phase_end $? "$RES/bench_torch_strict.stderr.txt" "NVIDIA_TF32_OVERRIDE=0, --strict-fp32"
else
  skip_phase bench-torch "no PyTorch with CUDA"
  skip_phase bench-torch-fp32 "no PyTorch with CUDA"
fi

# --- the char recipe, once on each side --------------------------------------------------------------

# scripts/quality/torch_lm.py on the GPU: every tensor it makes goes to CUDA (the default device);
# the closing sample runs on the CPU, where its torch.Generator lives.
TORCH_TRAIN='
import sys
import torch
sys.path.insert(0, "scripts/quality")
import torch_lm
torch.set_default_device("cuda")
cuda_sample = torch_lm.sample
def sample_on_cpu(model, *args, **kwargs):
    model.cpu()
    with torch.device("cpu"):
        return cuda_sample(model, *args, **kwargs)
torch_lm.sample = sample_on_cpu
sys.argv = ["torch_lm.py", *sys.argv[1:]]
torch_lm.main()
'
if ((NO_TRAIN)); then
  skip_phase train-rnnlm "--no-train"
else
  # The held-out 10% as a file for `rnnlm eval`: characters from int(0.9 n) on, as the trainer splits.
  "$NODE" -e '
    const fs = require("fs");
    const chars = Array.from(fs.readFileSync(process.argv[1], "utf8"));
    fs.writeFileSync(process.argv[2], chars.slice(Math.floor(0.9 * chars.length)).join(""));' "$DATA" "$WORK/valid.txt"
  phase_begin train-rnnlm 120
  limited "$NODE" dist/cli/main.js train --data "$DATA" --level char --cell lstm \
    --embedding 128 --hidden 512 --layers 2 --dropout 0.2 --batch 64 --seq 128 \
    --valid-fraction 0.1 --valid-batch 64 --valid-every 200 --optimizer adam --lr 2e-3 --clip 5 \
    --steps 2000 --seed 1 --device cuda --out "$WORK/run-rnnlm" --json \
    >"$RES/train_rnnlm.jsonl" 2>"$RES/train_rnnlm.stderr.txt"
  rc=$?
  phase_end $rc "$RES/train_rnnlm.stderr.txt"
  if ((rc == 0)); then
    phase_begin eval-rnnlm 60
    RNNLM_DEVICE=cuda limited "$NODE" dist/cli/main.js eval -c "$WORK/run-rnnlm/last" --data "$WORK/valid.txt" --json \
      >"$RES/eval_rnnlm.json" 2>"$RES/eval_rnnlm.stderr.txt"
    phase_end $? "$RES/eval_rnnlm.stderr.txt" "RUN/last, the held-out 10% as one stream"
  else
    skip_phase eval-rnnlm "training failed"
  fi
fi
if ((NO_TRAIN)); then
  skip_phase train-torch "--no-train"
elif ((HAVE_TORCH)); then
  mkdir -p "$WORK/data/tinyshakespeare" && ln -sf "$DATA" "$WORK/data/tinyshakespeare/input.txt"
  phase_begin train-torch 120
  limited "$PYTHON" -c "$TORCH_TRAIN" --preset char --data-dir "$WORK/data" --threads 4 \
    --out "$RES/train_torch.jsonl" --sample-out "$RES/train_torch_sample.txt" \
    >/dev/null 2>"$RES/train_torch.stderr.txt"
  phase_end $? "$RES/train_torch.stderr.txt" "scripts/quality/torch_lm.py --preset char on CUDA"
else
  skip_phase train-torch "no PyTorch with CUDA"
fi

# --- the report ------------------------------------------------------------------------------------------

"$NODE" bench/render_compare_cuda.mjs "$RES" --out "$RES/compare_cuda.md" || die 1 "could not render $RES/compare_cuda.md"
cp "$RES/compare_cuda.md" bench/results/compare_cuda.md
echo
echo "phases (seconds):"
column -t -s $'\t' "$RES/phases.tsv" 2>/dev/null | sed 's/^/  /' || sed 's/^/  /' "$RES/phases.tsv"
echo "total: $(($(date +%s) - START)) s of a ${BUDGET} s budget; bench/results/compare_cuda.md written, raw logs in $RES"
if ((FAILED)); then
  echo "gpu_check: some phases failed or ran out of time (see above)" >&2
  exit 1
fi
