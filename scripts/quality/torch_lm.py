#!/usr/bin/env python3
"""PyTorch reference for the language-model quality comparison (issue 3, "Quality, measured").

This script *is* the recipe: rnnlm's trainer follows the same data split, vocabulary, batching,
model, optimiser, validation and evaluation, so the two sides' numbers can be compared directly.

    python3 scripts/quality/torch_lm.py --preset char --out bench/results/quality_char_torch.jsonl \\
        --sample-out bench/results/quality_char_torch_sample.txt
    python3 scripts/quality/torch_lm.py --preset word --out bench/results/quality_word_torch.jsonl \\
        --sample-out bench/results/quality_word_torch_sample.txt

Presets:
  char: tinyshakespeare, first int(0.9*n) characters train, the rest valid; vocabulary = sorted
        set of training characters; E 128, H 512, L 2, dropout 0.2, batch 64, seq 128, Adam 2e-3,
        clip 5, 2000 steps (wrapping to position 0 with a zero state each epoch), seed 1.
  word: PTB train/valid, whitespace words + '<eos>' per line; vocabulary '<unk>' 0, '<eos>' 1, then
        training words by descending count (ties: first occurrence); E 650, H 650, L 2,
        dropout 0.5, batch 20, seq 35, Adam 1e-3, clip 5, one epoch, seed 1.

Output: JSON lines (to --out and stdout):
  {"type": "config", ...}                                  once, at the start
  {"type": "train", step, loss, tokens_per_s, elapsed}     every --log-every steps (and the last);
      loss = mean of the step losses since the previous line; tokens_per_s = targets per second
      of training-step time in that interval (validation excluded); elapsed = wall seconds since
      training started (validation included)
  {"type": "valid", step, nll, ppl, bpc, tokens, elapsed}  every --valid-every steps and at the
      end; batched validation (see evaluate)
  {"type": "summary", preset, steps, final_valid_batched, final_valid_stream: {tokens, nll, ppl,
      bpc}, train_seconds, wall_seconds}
  {"type": "sample", prime, temperature, seed, text}
train_seconds is the summed time of the training steps only; wall_seconds includes validation.
"""
import argparse
import json
import math
import os
import sys
import time
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.path.dirname(REPO), "shared", "data")

PRESETS = {
    "char": dict(embedding=128, hidden=512, layers=2, dropout=0.2, batch=64, seq=128, lr=2e-3,
                 clip=5.0, steps=2000, epochs=None, seed=1, valid_batch=64, valid_every=200,
                 sample_prime="ROMEO:", sample_len=500, temperature=0.8),
    "word": dict(embedding=650, hidden=650, layers=2, dropout=0.5, batch=20, seq=35, lr=1e-3,
                 clip=5.0, steps=None, epochs=1, seed=1, valid_batch=10, valid_every=200,
                 sample_prime="the", sample_len=60, temperature=0.8),
}
STREAM_CHUNK = 256
LN2 = math.log(2.0)


# ---------------------------------------------------------------- data

def load_char(data_dir):
    path = os.path.join(data_dir, "tinyshakespeare", "input.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    split = int(0.9 * len(text))
    train_text, valid_text = text[:split], text[split:]
    vocab = sorted(set(train_text))
    index = {c: i for i, c in enumerate(vocab)}
    missing = sorted(set(valid_text) - set(index))
    if missing:
        # a character-level model has no <unk>: refuse rather than silently change the data
        raise SystemExit(f"{path}: validation characters not in the training vocabulary: {missing!r}")
    train = torch.tensor([index[c] for c in train_text], dtype=torch.long)
    valid = torch.tensor([index[c] for c in valid_text], dtype=torch.long)
    return vocab, train, valid


def read_words(path):
    # word_language_model's data.py: every line's words, then '<eos>'
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            words.extend(line.split())
            words.append("<eos>")
    return words


def load_word(data_dir):
    train_words = read_words(os.path.join(data_dir, "ptb", "ptb.train.txt"))
    valid_words = read_words(os.path.join(data_dir, "ptb", "ptb.valid.txt"))
    counts = Counter(train_words)
    first = {}
    for i, w in enumerate(train_words):
        first.setdefault(w, i)
    rest = [w for w in counts if w not in ("<unk>", "<eos>")]
    rest.sort(key=lambda w: (-counts[w], first[w]))
    vocab = ["<unk>", "<eos>"] + rest
    index = {w: i for i, w in enumerate(vocab)}
    train = torch.tensor([index[w] for w in train_words], dtype=torch.long)
    valid = torch.tensor([index.get(w, 0) for w in valid_words], dtype=torch.long)
    return vocab, train, valid


def batchify(ids, batch):
    """ids (n,) -> (n // batch, batch): column b is the contiguous stream ids[b*Ls:(b+1)*Ls]."""
    length = ids.numel() // batch
    if length < 2:
        raise SystemExit(f"{ids.numel()} tokens are too few for batch {batch}")
    return ids[: length * batch].view(batch, length).t().contiguous()


def chunks(data, seq):
    """Yield (inputs (T, B), targets (T, B)) for positions 0, seq, 2*seq, ...; T = min(seq, Ls-1-i)."""
    length = data.size(0)
    for i in range(0, length - 1, seq):
        t = min(seq, length - 1 - i)
        yield data[i : i + t], data[i + 1 : i + 1 + t]


# ---------------------------------------------------------------- model

class LanguageModel(nn.Module):
    # attribute names embedding / rnn / decoder are the checkpoint contract (state_dict names)
    def __init__(self, vocab, embedding, hidden, layers, dropout):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = nn.LSTM(embedding, hidden, layers, dropout=dropout if layers > 1 else 0.0)
        self.decoder = nn.Linear(hidden, vocab)

    def forward(self, tokens, state):  # tokens (T, B) -> logits (T, B, V)
        x = self.drop(self.embedding(tokens))
        y, state = self.rnn(x, state)
        return self.decoder(self.drop(y)), state

    def zero_state(self, batch):
        z = torch.zeros(self.rnn.num_layers, batch, self.rnn.hidden_size)
        return (z, z.clone())


def detach(state):
    return tuple(s.detach() for s in state)


@torch.no_grad()
def evaluate(model, data, seq):
    """Sum of token NLL / predicted tokens over data (Ls, B), zero initial state carried across chunks."""
    model.eval()
    state = model.zero_state(data.size(1))
    total, count = 0.0, 0
    for x, y in chunks(data, seq):
        logits, state = model(x, state)
        total += F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    nll = total / count
    return dict(tokens=count, nll=nll, ppl=math.exp(nll), bpc=nll / LN2)


@torch.no_grad()
def sample(model, vocab, prime_tokens, n, temperature, seed):
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    index = {t: i for i, t in enumerate(vocab)}
    ids = [index[t] for t in prime_tokens]
    state = model.zero_state(1)
    logits, state = model(torch.tensor(ids, dtype=torch.long).view(-1, 1), state)
    last = logits[-1, 0]
    out = []
    for _ in range(n):
        probs = torch.softmax(last / temperature, dim=-1)
        nxt = int(torch.multinomial(probs, 1, generator=gen).item())
        out.append(vocab[nxt])
        logits, state = model(torch.tensor([[nxt]], dtype=torch.long), state)
        last = logits[-1, 0]
    model.train()
    return out


def save_checkpoint(model, vocab, cfg, out_dir):
    """model.safetensors with the state_dict names (the checkpoint contract) and vocab.json."""
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"))
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "torch_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=1)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), required=True)
    ap.add_argument("--data-dir", default=DATA)
    ap.add_argument("--out", help="JSON-lines file (also printed to stdout)")
    ap.add_argument("--sample-out", help="text file for the sample")
    ap.add_argument("--save-dir", help="write model.safetensors + vocab.json here at the end")
    ap.add_argument("--steps", type=int, help="char: total steps; word: cap on the epoch's steps")
    ap.add_argument("--valid-every", type=int)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--max-valid-tokens", type=int, help="smoke tests: use only the first N valid tokens")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    cfg = dict(PRESETS[args.preset])
    if args.steps is not None:
        cfg["steps"] = args.steps
    if args.valid_every is not None:
        cfg["valid_every"] = args.valid_every

    torch.set_num_threads(args.threads)
    torch.manual_seed(cfg["seed"])

    vocab, train_ids, valid_ids = (load_char if args.preset == "char" else load_word)(args.data_dir)
    if args.max_valid_tokens:
        valid_ids = valid_ids[: args.max_valid_tokens]
    V = len(vocab)
    train_data = batchify(train_ids, cfg["batch"])            # (Ls, B)
    valid_data = batchify(valid_ids, cfg["valid_batch"])      # (Ls_valid, B_valid)
    valid_stream = valid_ids.view(-1, 1)                       # (n_valid, 1)
    chunks_per_epoch = len(range(0, train_data.size(0) - 1, cfg["seq"]))
    if args.preset == "word":
        total_steps = chunks_per_epoch * cfg["epochs"]
        if cfg["steps"] is not None:
            total_steps = min(total_steps, cfg["steps"])
    else:
        total_steps = cfg["steps"]

    out = open(args.out, "w", encoding="utf-8") if args.out else None

    def emit(obj):
        line = json.dumps(obj, ensure_ascii=False)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    model = LanguageModel(V, cfg["embedding"], cfg["hidden"], cfg["layers"], cfg["dropout"])
    model.train()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=cfg["lr"])

    emit(dict(type="config", preset=args.preset, vocab=V, train_tokens=train_ids.numel(),
              valid_tokens=valid_ids.numel(), train_shape=list(train_data.shape),
              valid_shape=list(valid_data.shape), chunks_per_epoch=chunks_per_epoch,
              total_steps=total_steps, parameters=sum(p.numel() for p in params),
              torch=torch.__version__, threads=torch.get_num_threads(), **cfg))

    step = 0
    train_seconds = 0.0
    interval_losses, interval_tokens, interval_time = [], 0, 0.0
    last_valid = None
    t_start = time.perf_counter()
    done = False
    while not done:
        state = model.zero_state(cfg["batch"])  # zero state at the start of every epoch
        for x, y in chunks(train_data, cfg["seq"]):
            t0 = time.perf_counter()
            state = detach(state)
            opt.zero_grad()
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.view(-1, V), y.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg["clip"])
            opt.step()
            loss_value = loss.item()
            dt = time.perf_counter() - t0
            if not math.isfinite(loss_value):
                raise SystemExit(f"non-finite loss {loss_value} at step {step + 1}")
            step += 1
            train_seconds += dt
            interval_losses.append(loss_value)
            interval_tokens += y.numel()
            interval_time += dt

            last = step == total_steps
            if step % args.log_every == 0 or last:
                emit(dict(type="train", step=step, loss=sum(interval_losses) / len(interval_losses),
                          tokens_per_s=interval_tokens / interval_time,
                          elapsed=time.perf_counter() - t_start))
                interval_losses, interval_tokens, interval_time = [], 0, 0.0
            # char's 2000 is a multiple of 200; the end is validated anyway so final_valid_batched
            # always belongs to the final weights
            if step % cfg["valid_every"] == 0 or last:
                last_valid = evaluate(model, valid_data, cfg["seq"])
                emit(dict(type="valid", step=step, elapsed=time.perf_counter() - t_start, **last_valid))
            if last:
                done = True
                break
        if args.preset == "word":
            done = True  # one epoch (or fewer when --steps caps it)

    # the contract evaluation: one continuous stream, every token from all before it, first not predicted
    stream = evaluate(model, valid_stream, STREAM_CHUNK)
    wall_seconds = time.perf_counter() - t_start
    emit(dict(type="summary", preset=args.preset, steps=step, final_valid_batched=last_valid,
              final_valid_stream=stream, train_seconds=train_seconds, wall_seconds=wall_seconds))

    if args.save_dir:
        save_checkpoint(model, vocab, dict(preset=args.preset, **cfg), args.save_dir)

    prime = cfg["sample_prime"]
    if args.preset == "char":
        generated = sample(model, vocab, list(prime), cfg["sample_len"], cfg["temperature"], cfg["seed"])
        text = prime + "".join(generated)
    else:
        generated = sample(model, vocab, prime.split(), cfg["sample_len"], cfg["temperature"], cfg["seed"])
        text = " ".join(prime.split() + generated)
    emit(dict(type="sample", prime=prime, temperature=cfg["temperature"], seed=cfg["seed"],
              length=cfg["sample_len"], text=text))
    print(text, file=sys.stderr, flush=True)
    if args.sample_out:
        with open(args.sample_out, "w", encoding="utf-8") as f:
            f.write(f"# preset {args.preset}, {step} steps, prime {prime!r}, temperature "
                    f"{cfg['temperature']}, seed {cfg['seed']}, {cfg['sample_len']} "
                    f"{'characters' if args.preset == 'char' else 'words'}\n")
            f.write(text + "\n")
    if out:
        out.close()


if __name__ == "__main__":
    main()
