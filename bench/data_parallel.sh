#!/usr/bin/env bash
# Tokens/s of the char-small LSTM on 1 process and on 2 MPI ranks of this machine (the same batch
# per rank: twice the global batch), each configuration run 3 times alternately; prints the JSON
# lines and the medians' ratio. Usage: bench/data_parallel.sh [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30}
root=()
[ "$(id -u)" = 0 ] && root=(--allow-run-as-root)
out=$(mktemp)
for round in 1 2 3; do
  node bench/data_parallel.mjs "$steps" | tee -a "$out"
  mpirun "${root[@]}" --oversubscribe -np 2 node bench/data_parallel.mjs "$steps" | tee -a "$out"
done
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const one = med(lines.filter((l) => l.ranks === 1).map((l) => l.tokens_per_s));
const two = lines.filter((l) => l.ranks === 2);
console.log(JSON.stringify({ tokens_per_s_1: one, tokens_per_s_2: med(two.map((l) => l.tokens_per_s)), speedup: Number((med(two.map((l) => l.tokens_per_s)) / one).toFixed(3)), allreduce_share_2: med(two.map((l) => l.allreduce_share)) }));' "$out"
