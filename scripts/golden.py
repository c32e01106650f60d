#!/usr/bin/env python3
"""Golden vectors from PyTorch for rnnlm's tests (writes test/fixtures/*.json).

Deterministic: every random draw comes from a torch.Generator seeded per case, every input and
parameter is drawn in float32 (so it is exactly representable in the engine), and the reference
computation runs in float64; results are rounded to float32 when written.

    python3 scripts/golden.py            # rewrites test/fixtures/*.json
    python3 scripts/golden.py --check    # recomputes and fails if any file would change

File format (every file):
    {"meta": {...group-wide...},
     "cases": {"<case>": {"meta": {...}, "tensors": {"<name>": {"dtype": "float32"|"int64",
                                                               "shape": [...],
                                                               "data": [...flat, row-major...]}}}}}
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")


# --- helpers ------------------------------------------------------------------------------------

def gen(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def randn(g, *shape, scale=1.0):
    """float32 draw, returned as float64 (exactly representable in float32)."""
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).double()


def uniform(g, *shape, low=-1.0, high=1.0):
    return (torch.rand(*shape, generator=g, dtype=torch.float32) * (high - low) + low).double()


def f32_list(t):
    arr = np.asarray(t.detach().cpu().double().numpy(), dtype=np.float64).reshape(-1)
    out = []
    for v in arr.astype(np.float32):
        if not math.isfinite(float(v)):
            raise ValueError("non-finite value in a golden tensor")
        # shortest decimal that round-trips to the same float32
        out.append(json.loads(str(v)))
    return out


def ft(t):
    t = torch.as_tensor(t)
    return {"dtype": "float32", "shape": list(t.shape), "data": f32_list(t)}


def it(t):
    t = torch.as_tensor(t)
    return {"dtype": "int64", "shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def dump(name, meta, cases, check):
    doc = {
        "meta": dict(meta, generator="scripts/golden.py", torch=torch.__version__.split("+")[0]),
        "cases": cases,
    }
    text = json.dumps(doc, separators=(",", ":")) + "\n"
    path = os.path.join(OUT_DIR, name)
    if check:
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            print(f"DIFFERS: {path}")
            return False
        print(f"same: {path}")
        return True
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path} ({len(text) / 1024:.1f} KB)")
    return True


# --- 1. recurrent layers over packed batches ----------------------------------------------------

def rnn_case(cell, nonlinearity="tanh", num_layers=2, bidirectional=True, input_size=5, hidden=4,
             lengths=(4, 2, 3), padded=False, seed=0):
    g = gen(seed)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
    kwargs = dict(input_size=input_size, hidden_size=hidden, num_layers=num_layers,
                  bidirectional=bidirectional, dropout=0.0)
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    torch.manual_seed(seed)
    module = cls(**kwargs).double()
    # parameters: U(-1/sqrt(H), 1/sqrt(H)) like PyTorch's init, but drawn in float32
    bound = 1.0 / math.sqrt(hidden)
    params = {}
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(uniform(g, *p.shape, low=-bound, high=bound))
            params[name] = p
    D = 2 if bidirectional else 1
    B = len(lengths)
    T = max(lengths)
    seqs = [randn(g, L, input_size) for L in lengths]
    h0 = randn(g, num_layers * D, B, hidden, scale=0.5).requires_grad_(True)
    c0 = randn(g, num_layers * D, B, hidden, scale=0.5).requires_grad_(True) if cell == "lstm" else None

    if padded:
        # batch-first padded input, zeros past each length
        x_pad = torch.zeros(B, T, input_size, dtype=torch.float64)
        for b, s in enumerate(seqs):
            x_pad[b, : s.shape[0]] = s
        x_pad.requires_grad_(True)
        packed = pack_padded_sequence(x_pad, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
        data = packed.data
        data.retain_grad()
    else:
        leaves = [s.clone().requires_grad_(True) for s in seqs]
        packed = pack_sequence(leaves, enforce_sorted=False)
        data = packed.data
        data.retain_grad()

    state = (h0, c0) if cell == "lstm" else h0
    out, hn = module(packed, state)
    if cell == "lstm":
        h_n, c_n = hn
    else:
        h_n, c_n = hn, None

    g_out = randn(g, *out.data.shape)
    g_h = randn(g, *h_n.shape)
    g_c = randn(g, *c_n.shape) if c_n is not None else None
    loss = (out.data * g_out).sum() + (h_n * g_h).sum()
    if c_n is not None:
        loss = loss + (c_n * g_c).sum()
    loss.backward()

    # time-major padded views (T, B, *) in the original batch order, for pack/unpack helpers
    in_padded_tm = torch.zeros(T, B, input_size, dtype=torch.float64)
    for b, s in enumerate(seqs):
        in_padded_tm[: s.shape[0], b] = s
    out_padded_tm, out_lengths = pad_packed_sequence(out, batch_first=False)

    tensors = {}
    for name, p in params.items():
        tensors[name] = ft(p)
    tensors["input.data"] = ft(packed.data)
    tensors["input.batch_sizes"] = it(packed.batch_sizes)
    tensors["input.sorted_indices"] = it(packed.sorted_indices)
    tensors["input.unsorted_indices"] = it(packed.unsorted_indices)
    tensors["input.lengths"] = it(torch.tensor(lengths))
    tensors["input.padded"] = ft(in_padded_tm)
    if padded:
        tensors["input.padded_batch_first"] = ft(x_pad)
    tensors["h0"] = ft(h0)
    if c0 is not None:
        tensors["c0"] = ft(c0)
    tensors["output.data"] = ft(out.data)
    tensors["output.padded"] = ft(out_padded_tm)
    tensors["h_n"] = ft(h_n)
    if c_n is not None:
        tensors["c_n"] = ft(c_n)
    tensors["grad_output.data"] = ft(g_out)
    tensors["grad_h_n"] = ft(g_h)
    if g_c is not None:
        tensors["grad_c_n"] = ft(g_c)
    for name, p in params.items():
        tensors["grad." + name] = ft(p.grad)
    tensors["grad.input.data"] = ft(data.grad)
    if padded:
        tensors["grad.input.padded_batch_first"] = ft(x_pad.grad)
    tensors["grad.h0"] = ft(h0.grad)
    if c0 is not None:
        tensors["grad.c0"] = ft(c0.grad)
    mode = {"lstm": "LSTM", "gru": "GRU"}.get(cell, "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU")
    meta = {
        "cell": cell, "mode": mode, "nonlinearity": nonlinearity if cell == "rnn" else None,
        "input_size": input_size, "hidden_size": hidden, "num_layers": num_layers,
        "bidirectional": bidirectional, "bias": True, "dropout": 0.0, "lengths": list(lengths),
        "enforce_sorted": False, "padded_input": padded,
        "loss": "sum(output.data*grad_output.data) + sum(h_n*grad_h_n) [+ sum(c_n*grad_c_n)]",
        "notes": "input.data/output.data are packed (sorted by decreasing length, time-major); "
                 "h0/c0/h_n/c_n and their grads are (layers*dirs, B, H) in the ORIGINAL batch order; "
                 "input.padded/output.padded are time-major (T, B, *) in the original order, zero-padded",
    }
    return {"meta": meta, "tensors": tensors}


# --- 2. softmax + NLL ---------------------------------------------------------------------------

def softmax_nll_cases():
    g = gen(100)
    N, V = 7, 5
    logits = randn(g, N, V, scale=2.0)
    cases = {}
    target_sets = {
        "ignore_default": (-100, [1, -100, 4, 0, -100, 2, 4]),
        "ignore_custom": (2, [1, 2, 4, 0, 3, 2, 2]),
        "no_ignored": (-100, [0, 1, 2, 3, 4, 0, 1]),
    }
    for tname, (ignore_index, targets) in target_sets.items():
        for reduction in ("mean", "sum"):
            x = logits.clone().requires_grad_(True)
            tgt = torch.tensor(targets, dtype=torch.int64)
            loss = nn.functional.cross_entropy(x, tgt, ignore_index=ignore_index, reduction=reduction)
            loss.backward()
            count = int((tgt != ignore_index).sum())
            cases[f"{tname}_{reduction}"] = {
                "meta": {"ignore_index": ignore_index, "reduction": reduction, "count": count},
                "tensors": {"logits": ft(x), "targets": it(tgt), "loss": ft(loss.reshape(1)),
                            "grad.logits": ft(x.grad)},
            }
    # a second upstream scale: d(3*loss)/dlogits, to check gradients scale with the upstream value
    x = logits.clone().requires_grad_(True)
    tgt = torch.tensor(target_sets["ignore_default"][1])
    loss = nn.functional.cross_entropy(x, tgt, ignore_index=-100, reduction="mean")
    (3.0 * loss).backward()
    cases["ignore_default_mean_upstream3"] = {
        "meta": {"ignore_index": -100, "reduction": "mean", "count": 5, "upstream": 3.0},
        "tensors": {"logits": ft(x), "targets": it(tgt), "loss": ft(loss.reshape(1)),
                    "grad.logits": ft(x.grad)},
    }
    return {"op": "cross_entropy (log_softmax + nll_loss)", "N": N, "V": V}, cases


# --- 3. optimisers ------------------------------------------------------------------------------

def optim_case(name, make, state_keys, seed):
    g = gen(seed)
    shape = (3, 4)
    p = nn.Parameter(randn(g, *shape))
    opt = make([p])
    tensors = {"param.0": ft(p)}
    for step in (1, 2):
        grad = randn(g, *shape)
        p.grad = grad.clone()
        tensors[f"grad.{step}"] = ft(grad)
        opt.step()
        tensors[f"param.{step}"] = ft(p)
        st = opt.state[p]
        for k in state_keys:
            tensors[f"{k}.{step}"] = ft(st[k])
    options = {}
    for k, v in opt.param_groups[0].items():
        if k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "eps", "alpha", "centered"):
            options[k] = v
        elif k == "betas":
            options[k] = list(v)
    return {"meta": {"optimizer": name, "options": options, "steps": 2, "state": state_keys},
            "tensors": tensors}


def optim_cases():
    cases = {}
    cases["adam"] = optim_case("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
                               ["exp_avg", "exp_avg_sq"], 200)
    cases["adam_wd"] = optim_case("adam", lambda ps: torch.optim.Adam(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
                                  ["exp_avg", "exp_avg_sq"], 201)
    cases["adamw"] = optim_case("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
                                ["exp_avg", "exp_avg_sq"], 202)
    cases["sgd_nesterov"] = optim_case("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
                                       ["momentum_buffer"], 210)
    cases["sgd_momentum_wd"] = optim_case("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
                                          ["momentum_buffer"], 211)
    cases["sgd_plain"] = optim_case("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1), [], 212)
    cases["rmsprop"] = optim_case("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-8),
                                  ["square_avg"], 220)
    cases["rmsprop_centered"] = optim_case("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-8, centered=True),
                                           ["square_avg", "grad_avg"], 221)
    cases["rmsprop_centered_momentum_wd"] = optim_case(
        "rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=1e-2, alpha=0.99, eps=1e-8, centered=True, momentum=0.9, weight_decay=0.01),
        ["square_avg", "grad_avg", "momentum_buffer"], 222)
    return {"notes": "param.0 initial; for step k in 1,2: p.grad = grad.k, opt.step(), then param.k and state tensors <name>.k"}, cases


# --- 4. clip_grad_norm_ ---------------------------------------------------------------------------

def clip_cases():
    g = gen(300)
    grads = [randn(g, 3, 4), randn(g, 5), randn(g, 2, 2, 3, scale=0.5)]
    total = math.sqrt(sum(float((x * x).sum()) for x in grads))
    cases = {}
    for cname, max_norm in (("clips", 1.5), ("no_clip", 100.0)):
        ps = [nn.Parameter(torch.zeros_like(x)) for x in grads]
        for p, x in zip(ps, grads):
            p.grad = x.clone()
        norm = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        tensors = {}
        for i, x in enumerate(grads):
            tensors[f"grad.{i}"] = ft(x)
        tensors["norm"] = ft(norm.reshape(1))
        for i, p in enumerate(ps):
            tensors[f"clipped.{i}"] = ft(p.grad)
        cases[cname] = {"meta": {"max_norm": max_norm, "norm_type": 2.0, "count": len(grads)}, "tensors": tensors}
    return {"op": "torch.nn.utils.clip_grad_norm_", "norm": total}, cases


# --- 5. embedding and linear --------------------------------------------------------------------

def embedding_linear_cases():
    g = gen(400)
    cases = {}
    V, E = 6, 3
    w = randn(g, V, E).requires_grad_(True)
    ids = torch.tensor([[1, 3, 1, 5], [0, 3, 3, 1]], dtype=torch.int64)
    y = nn.functional.embedding(ids, w)
    dy = randn(g, *y.shape)
    (y * dy).sum().backward()
    cases["embedding"] = {"meta": {"vocab": V, "dim": E, "loss": "sum(output*grad_output)"},
                          "tensors": {"weight": ft(w), "ids": it(ids), "output": ft(y),
                                      "grad_output": ft(dy), "grad.weight": ft(w.grad)}}
    for bias in (True, False):
        N, In, Out = 4, 5, 3
        x = randn(g, N, In).requires_grad_(True)
        W = randn(g, Out, In, scale=0.5).requires_grad_(True)
        b = randn(g, Out).requires_grad_(True) if bias else None
        y = nn.functional.linear(x, W, b)
        dy = randn(g, *y.shape)
        (y * dy).sum().backward()
        tensors = {"input": ft(x), "weight": ft(W)}
        if bias:
            tensors["bias"] = ft(b)
        tensors.update({"output": ft(y), "grad_output": ft(dy), "grad.input": ft(x.grad),
                        "grad.weight": ft(W.grad)})
        if bias:
            tensors["grad.bias"] = ft(b.grad)
        cases["linear" if bias else "linear_no_bias"] = {
            "meta": {"in_features": In, "out_features": Out, "bias": bias, "loss": "sum(output*grad_output)"},
            "tensors": tensors}
    return {}, cases


# --- main ---------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="fail if any fixture would change")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT_DIR, exist_ok=True)
    ok = True
    rnn_meta = {"op": "nn.LSTM/nn.GRU/nn.RNN over a PackedSequence"}
    # lengths (4, 2, 3) sort with a self-inverse permutation; (3, 2, 4) does not (sorted_indices
    # [2, 0, 1], unsorted_indices [1, 2, 0]) and so catches sorted/unsorted mix-ups
    ok &= dump("rnn_lstm.json", rnn_meta, {
        "packed_2layer_bidir": rnn_case("lstm", seed=1),
        "packed_2layer_bidir_rotated": rnn_case("lstm", lengths=(3, 2, 4), seed=7),
    }, args.check)
    ok &= dump("rnn_gru.json", rnn_meta, {"packed_2layer_bidir": rnn_case("gru", seed=2)}, args.check)
    ok &= dump("rnn_tanh.json", rnn_meta, {"packed_2layer_bidir": rnn_case("rnn", "tanh", seed=3)}, args.check)
    ok &= dump("rnn_relu.json", rnn_meta, {"packed_2layer_bidir": rnn_case("rnn", "relu", seed=4)}, args.check)
    ok &= dump("rnn_padded.json", rnn_meta, {
        "lstm_1layer_padded": rnn_case("lstm", num_layers=1, bidirectional=False, padded=True, lengths=(3, 2, 4), seed=5),
        "gru_1layer_padded": rnn_case("gru", num_layers=1, bidirectional=False, padded=True, lengths=(3, 2, 4), seed=6),
    }, args.check)
    ok &= dump("softmax_nll.json", *softmax_nll_cases(), args.check)
    ok &= dump("optim.json", *optim_cases(), args.check)
    ok &= dump("clip_grad_norm.json", *clip_cases(), args.check)
    ok &= dump("embedding_linear.json", *embedding_linear_cases(), args.check)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
