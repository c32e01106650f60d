#!/usr/bin/env bash
# The sentence VAE's quality runs on Penn Treebank (issue 5, "Quality, measured"), one after the
# other: the reference defaults for 4 epochs, the plain LM decoder baseline, and the ablations
# that show KL annealing and word dropout keeping the KL term from collapsing. Each run is
# scored on ptb.valid.txt with `vae eval` (z drawn from q(z|x), and z = the mean).
#
# Usage: scripts/quality/vae_quality.sh OUT_DIR [RUN...]
#   RUN: default lm no-anneal no-dropout fast-no-dropout fast-word-dropout fast-default
#        none-no-dropout none-word-dropout fast-no-dropout-long fast-word-dropout-long (default: all)
# RNNLM (the command) defaults to the built CLI (dist/cli/main.js, from `npm install`).
set -euo pipefail
out=${1:?usage: vae_quality.sh OUT_DIR [RUN...]}
shift
runs=("$@")
[ ${#runs[@]} -eq 0 ] && runs=(default lm no-anneal no-dropout fast-no-dropout fast-word-dropout fast-default
  none-no-dropout none-word-dropout fast-no-dropout-long fast-word-dropout-long)
root=$(cd "$(dirname "$0")/../.." && pwd)
data=${PTB:-$root/../shared/data/ptb}
rnnlm=${RNNLM:-"node $root/dist/cli/main.js"}
mkdir -p "$out"
ptb=(--data "$data/ptb.train.txt" --valid "$data/ptb.valid.txt")
# Annealing fast enough that the KL weight reaches 1 within the first epoch (1315 steps), so
# that two epochs show whether the KL term survives a full weight.
fast=(--anneal logistic --k 0.01 --x0 650)

for run in "${runs[@]}"; do
  case $run in
    default) flags=(--epochs 4) ;;
    lm) flags=(--epochs 4 --decoder-only) ;;
    no-anneal) flags=(--epochs 1 --anneal none) ;;
    no-dropout) flags=(--epochs 4 --embedding-dropout 0 --word-dropout 0) ;;
    fast-no-dropout) flags=(--epochs 2 "${fast[@]}" --embedding-dropout 0 --word-dropout 0) ;;
    fast-word-dropout) flags=(--epochs 2 "${fast[@]}" --embedding-dropout 0 --word-dropout 0.5) ;;
    fast-default) flags=(--epochs 2 "${fast[@]}") ;;
    # The 2x2 grid's other half: no annealing (weight 1 from step 1), word dropout 0 or 0.5.
    none-no-dropout) flags=(--epochs 2 --anneal none --embedding-dropout 0 --word-dropout 0) ;;
    none-word-dropout) flags=(--epochs 2 --anneal none --embedding-dropout 0 --word-dropout 0.5) ;;
    # Annealing with and without word dropout, trained for longer at full KL weight.
    fast-no-dropout-long) flags=(--epochs 6 "${fast[@]}" --embedding-dropout 0 --word-dropout 0) ;;
    fast-word-dropout-long) flags=(--epochs 6 "${fast[@]}" --embedding-dropout 0 --word-dropout 0.5) ;;
    *) echo "unknown run $run" >&2; exit 2 ;;
  esac
  dir=$out/$run
  if [ ! -f "$dir/last/config.json" ]; then
    start=$(date +%s)
    $rnnlm vae train "${ptb[@]}" "${flags[@]}" --out "$dir" --json > "$out/$run.train.jsonl"
    echo "{\"run\": \"$run\", \"train_seconds\": $(( $(date +%s) - start ))}" > "$out/$run.time.json"
  fi
  $rnnlm vae eval -c "$dir/last" --data "$data/ptb.valid.txt" --json > "$out/$run.valid.json"
  $rnnlm vae eval -c "$dir/last" --data "$data/ptb.valid.txt" --z mean --json > "$out/$run.valid_mean.json"
  echo "$run: $(cat "$out/$run.valid.json")"
done
