#!/usr/bin/env python3
"""PyTorch baseline for bench_layer: one nn.LSTM / nn.GRU / nn.RNN layer, forward + backward.

    python3 bench/native/torch_layer.py [cell=lstm] [in=512] [hidden=512] [batch=64] [seq=128] [reps=5]

Same sizes and the same work as build/bench_layer (time-major input, no h0, loss gradient dy
given for every output), on torch.set_num_threads(2) unless RNNLM_THREADS says otherwise.
Prints one JSON object: {cell, in, hidden, batch, seq, threads, fwd_ms, fwd_bwd_ms, min_ms}.
"""
import json
import os
import statistics
import sys
import time

import torch


def main():
    a = sys.argv[1:]
    cell = a[0] if len(a) > 0 else "lstm"
    n_in, hidden, batch, seq = (int(a[i]) if len(a) > i else d for i, d in ((1, 512), (2, 512), (3, 64), (4, 128)))
    reps = int(a[5]) if len(a) > 5 else 5
    threads = int(os.environ.get("RNNLM_THREADS", "2"))
    torch.set_num_threads(threads)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](n_in, hidden)
    x = torch.rand(seq, batch, n_in) * 2 - 1
    x.requires_grad_(True)
    dy = torch.rand(seq, batch, hidden) * 2 - 1
    fwd, total = [], []
    for r in range(reps + 1):
        t0 = time.perf_counter()
        y, _ = layer(x)
        t1 = time.perf_counter()
        y.backward(dy)
        t2 = time.perf_counter()
        layer.zero_grad(set_to_none=True)
        x.grad = None
        if r > 0:
            fwd.append((t1 - t0) * 1e3)
            total.append((t2 - t0) * 1e3)
    print(json.dumps({"cell": cell, "in": n_in, "hidden": hidden, "batch": batch, "seq": seq,
                      "threads": threads, "fwd_ms": round(statistics.median(fwd), 2),
                      "fwd_bwd_ms": round(statistics.median(total), 2), "min_ms": round(min(total), 2)}))


if __name__ == "__main__":
    main()
