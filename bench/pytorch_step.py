#!/usr/bin/env python3
"""PyTorch baseline for `rnnlm bench`: the time of one full language-model training step.

A step is what `rnnlm bench` times (see DESIGN.md, "Benchmark contract"):
    nn.Embedding(V, E) -> nn.LSTM/GRU/RNN(E, H, L) -> nn.Linear(H, V) -> cross-entropy on random
    tokens (batch B, seq T) -> backward -> clip_grad_norm_(5) -> Adam step.
Tensors are time-major (T, B) by default, PyTorch's native RNN layout (batch_first only adds
transposes; --batch-first measures that layout). The timing is the median over --steps steps after --warmup steps.

    python3 bench/pytorch_step.py --preset all --threads 2
    python3 bench/pytorch_step.py --preset all --device cuda      # cuDNN (TF32 allowed: PyTorch's default)
    python3 bench/pytorch_step.py --preset all --device cuda --strict-fp32   # no TF32, as rnnlm
    python3 bench/pytorch_step.py --cell gru --vocab 80 --embedding 128 --hidden 512 --layers 2 \\
        --batch 64 --seq 128 --steps 10 --warmup 3 --threads 2

Prints one JSON object per line per configuration:
    {cell, vocab, embedding, hidden, layers, batch, seq, dropout, device, mode: "pytorch",
     ms_per_step, tokens_per_s, layout, steps, warmup, threads, torch}
On CUDA the lines also carry cudnn, gpu and tf32 (whether TF32 tensor cores were allowed).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

PRESETS = {
    "char-small": dict(cell="lstm", vocab=65, embedding=64, hidden=256, layers=1, batch=32, seq=64),
    "char-large": dict(cell="lstm", vocab=80, embedding=128, hidden=512, layers=2, batch=64, seq=128),
    "char-gru": dict(cell="gru", vocab=80, embedding=128, hidden=512, layers=2, batch=64, seq=128),
    "word-medium": dict(cell="lstm", vocab=10000, embedding=650, hidden=650, layers=2, batch=20, seq=35),
}


class LanguageModel(nn.Module):
    def __init__(self, cell, vocab, embedding, hidden, layers, dropout, batch_first=False):
        super().__init__()
        self.batch_first = batch_first
        self.embedding = nn.Embedding(vocab, embedding)
        if cell == "lstm":
            self.rnn = nn.LSTM(embedding, hidden, layers, dropout=dropout, batch_first=batch_first)
        elif cell == "gru":
            self.rnn = nn.GRU(embedding, hidden, layers, dropout=dropout, batch_first=batch_first)
        elif cell in ("rnn", "rnn_tanh", "rnn_relu"):
            self.rnn = nn.RNN(embedding, hidden, layers, dropout=dropout, batch_first=batch_first,
                              nonlinearity="relu" if cell == "rnn_relu" else "tanh")
        else:
            raise ValueError(f"unknown cell {cell!r}")
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens):  # tokens (T, B), or (B, T) when batch_first
        x = self.embedding(tokens)
        y, _ = self.rnn(x)
        return self.decoder(y.reshape(-1, y.shape[-1]))


def use_strict_fp32():
    """No TF32 on CUDA: cuDNN's RNNs and cuBLAS's matmuls in full FP32, the precision rnnlm uses.

    PyTorch's default lets cuDNN use TF32 tensor cores (torch.backends.cudnn.allow_tf32 = True).
    NVIDIA_TF32_OVERRIDE=0 in the environment forbids TF32 in the libraries themselves."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False


def tf32_allowed():
    if os.environ.get("NVIDIA_TF32_OVERRIDE") == "0":
        return False
    return bool(torch.backends.cudnn.allow_tf32 or torch.backends.cuda.matmul.allow_tf32)


def bench(cfg, steps, warmup, threads, dropout, seed, device, batch_first=False):
    torch.manual_seed(seed)
    dev = torch.device(device)
    model = LanguageModel(cfg["cell"], cfg["vocab"], cfg["embedding"], cfg["hidden"], cfg["layers"],
                          dropout, batch_first).to(dev)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    T, B, V = cfg["seq"], cfg["batch"], cfg["vocab"]
    # fresh random tokens each step, drawn before the timer starts
    batches = [torch.randint(0, V, (T + 1, B), device=dev) for _ in range(4)]
    if batch_first:
        batches = [b.t().contiguous() for b in batches]

    def step(i):
        tokens = batches[i % len(batches)]
        if batch_first:
            inputs, targets = tokens[:, :-1], tokens[:, 1:]
        else:
            inputs, targets = tokens[:-1], tokens[1:]
        opt.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = loss_fn(logits, targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for i in range(warmup):
        step(i)
    sync()
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        loss = step(i)
        loss.item()  # forces the step to finish (and syncs on CUDA)
        sync()
        times.append((time.perf_counter() - t0) * 1000.0)
    ms = statistics.median(times)
    result = {
        "cell": cfg["cell"], "vocab": V, "embedding": cfg["embedding"], "hidden": cfg["hidden"],
        "layers": cfg["layers"], "batch": B, "seq": T, "dropout": dropout, "device": dev.type,
        "mode": "pytorch", "ms_per_step": round(ms, 3), "tokens_per_s": round(B * T / (ms / 1000.0), 1),
        "layout": "batch_first" if batch_first else "time_major",
        "steps": steps, "warmup": warmup, "threads": threads,
        "torch": torch.__version__,
        # On CUDA, nn.LSTM / GRU / RNN run cuDNN's fused RNN kernels (when cuDNN is enabled).
        "cudnn": torch.backends.cudnn.version() if dev.type == "cuda" and torch.backends.cudnn.enabled else None,
        "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
    }
    if dev.type == "cuda":
        result["tf32"] = tf32_allowed()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=list(PRESETS) + ["all"], help="a named configuration, or all of them")
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru", "rnn", "rnn_tanh", "rnn_relu"])
    ap.add_argument("--vocab", type=int, default=80)
    ap.add_argument("--embedding", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    ap.add_argument("--device", default="cpu",
                    help="cpu or cuda (cuda runs nn.LSTM/GRU/RNN on cuDNN; compare with `rnnlm bench --device cuda`)")
    ap.add_argument("--strict-fp32", action="store_true",
                    help="CUDA: forbid TF32 in cuDNN and cuBLAS (PyTorch's default allows it for cuDNN)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-first", action="store_true",
                    help="(B, T) layout instead of time-major (T, B); time-major is PyTorch's native RNN layout")
    args = ap.parse_args()

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error(f"--device {args.device}: this PyTorch build sees no CUDA device")
    if args.strict_fp32:
        use_strict_fp32()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    if args.preset == "all":
        configs = list(PRESETS.values())
    elif args.preset:
        configs = [PRESETS[args.preset]]
    else:
        configs = [dict(cell=args.cell, vocab=args.vocab, embedding=args.embedding, hidden=args.hidden,
                        layers=args.layers, batch=args.batch, seq=args.seq)]
    for cfg in configs:
        out = bench(cfg, args.steps, args.warmup, threads, args.dropout, args.seed, args.device, args.batch_first)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
