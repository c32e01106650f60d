#!/usr/bin/env python3
"""PyTorch reference for the sequence-classifier quality comparison (issue 6).

The recipe is rnnlm's `classify train`, step for step, on the very same examples: rnnlm writes
the stratified split it trained on to RUN/split.json, and this script reads it.

    npx rnnlm classify train --data ../shared/data/names --out runs/names --seed 1 --json
    python3 scripts/quality/torch_classifier.py --split runs/names/split.json \\
        --out bench/results/classify_names_torch.jsonl

Recipe (defaults equal rnnlm's):
  data:   split.json's train and test lists of [text, label id]; vocabulary = id 0 for unknown
          characters ("\\uFFFD"), then the distinct characters of the training texts sorted by
          code point; held-out characters outside it read as id 0.
  model:  nn.Embedding(V, 64) -> nn.GRU(64, 128, 1 layer, bidirectional) over a
          PackedSequence (enforce_sorted=False) -> cat(h_n[-2], h_n[-1]) -> Dropout(0.3) ->
          nn.Linear(256, C); PyTorch's default initialisation (as rnnlm's).
  train:  15 epochs of batch 64, Adam lr 3e-3, clip_grad_norm_ 5, mean cross-entropy (optional
          weight = n / (C * n_c), "balanced"). Batches bucketed by length: the shuffled training
          indices cut into pools of 50 batches, each pool sorted by length (stable) and cut into
          batches, the batches shuffled (Python's random.Random(seed), rnnlm has its own RNG).
  eval:   after every epoch, the held-out set in batches of 256 sorted by length: mean loss,
          accuracy, macro-F1 (over classes present in truth or predictions, 0 for an undefined
          precision/recall, as scikit-learn), confusion matrix.

Output: JSON lines (to --out and stdout): {"type": "config", ...}, {"type": "epoch", epoch,
train_loss, test_loss, accuracy, macro_f1, train_seconds}, {"type": "summary", accuracy,
macro_f1, test_loss, train_seconds, wall_seconds, confusion, labels}. train_seconds is the
time of the training steps only.
--save-dir writes an rnnlm classifier checkpoint (config.json, vocab.json, model.safetensors),
so that `rnnlm classify eval -c DIR --data RUN/test.csv` can score PyTorch's weights.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_sequence

UNK = "\ufffd"
POOL_BATCHES = 50
EVAL_BATCH = 256


class Classifier(nn.Module):
    def __init__(self, vocab, classes, embedding, hidden, layers, cell, bidirectional, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = rnn(embedding, hidden, num_layers=layers, bidirectional=bidirectional,
                       dropout=dropout if layers > 1 else 0.0)
        self.bidirectional = bidirectional
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, seqs):
        emb = self.embedding(torch.cat(seqs)).split([len(s) for s in seqs])
        packed = pack_sequence(list(emb), enforce_sorted=False)
        _, h = self.rnn(packed)
        if isinstance(h, tuple):
            h = h[0]
        # h_n is in the caller's order (PyTorch unsorts it): the last layer's directions.
        feats = torch.cat([h[-2], h[-1]], 1) if self.bidirectional else h[-1]
        return self.fc(self.drop(feats))


def bucketed_batches(indices, lengths, batch, rng):
    order = list(indices)
    rng.shuffle(order)
    pool = batch * POOL_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        part = sorted(order[start:start + pool], key=lambda i: lengths[i])
        batches.extend(part[i:i + batch] for i in range(0, len(part), batch))
    rng.shuffle(batches)
    return batches


def report(truth, predicted, classes):
    confusion = [[0] * classes for _ in range(classes)]
    for t, p in zip(truth, predicted):
        confusion[t][p] += 1
    f1s = []
    for k in range(classes):
        support = sum(confusion[k])
        predicted_as = sum(confusion[j][k] for j in range(classes))
        tp = confusion[k][k]
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        if support or predicted_as:
            f1s.append(f1)
    accuracy = sum(confusion[k][k] for k in range(classes)) / max(1, len(truth))
    return accuracy, sum(f1s) / max(1, len(f1s)), confusion


def evaluate(model, ids, labels, classes):
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    predicted = [0] * len(ids)
    nll = 0.0
    with torch.no_grad():
        for start in range(0, len(order), EVAL_BATCH):
            part = order[start:start + EVAL_BATCH]
            logp = F.log_softmax(model([ids[i] for i in part]), dim=1)
            target = torch.tensor([labels[i] for i in part])
            nll -= logp.gather(1, target[:, None]).sum().item()
            for r, i in enumerate(part):
                predicted[i] = int(logp[r].argmax())
    accuracy, macro_f1, confusion = report(labels, predicted, classes)
    model.train()
    return nll / len(ids), accuracy, macro_f1, confusion


def save_checkpoint(model, vocab, labels, cfg, out_dir):
    from safetensors.torch import save_file
    os.makedirs(out_dir, exist_ok=True)
    tensors = {k: v.detach().contiguous().float() for k, v in model.state_dict().items()}
    save_file(tensors, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    config = {"format": "rnnlm", "format_version": 1, "kind": "classifier",
              "model": {"vocab_size": len(vocab), "embedding": cfg.embedding, "hidden": cfg.hidden,
                        "layers": cfg.layers, "cell": cfg.cell, "bidirectional": cfg.bidirectional,
                        "dropout": cfg.dropout, "num_classes": len(labels)},
              "tokenizer": {"level": "char"}, "labels": labels}
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"level": "char", "tokens": vocab, "specials": {"unk": 0}}, f, ensure_ascii=False)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", required=True, help="RUN/split.json written by rnnlm classify train")
    p.add_argument("--cell", default="gru", choices=["gru", "lstm", "rnn"])
    p.add_argument("--embedding", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--no-bidirectional", dest="bidirectional", action="store_false")
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--class-weights", default="none", choices=["none", "balanced"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", help="also write the JSON lines here")
    p.add_argument("--save-dir", help="write the final model as an rnnlm classifier checkpoint")
    cfg = p.parse_args()

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    out = open(cfg.out, "w", encoding="utf-8") if cfg.out else None

    def emit(record):
        line = json.dumps(record)
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    with open(cfg.split, encoding="utf-8") as f:
        split = json.load(f)
    if split.get("format") != "rnnlm-classify-split":
        sys.exit(f"{cfg.split}: not an rnnlm classify split file")
    labels = split["labels"]
    classes = len(labels)
    vocab = [UNK] + sorted({c for text, _ in split["train"] for c in text} - {UNK})
    index = {c: i for i, c in enumerate(vocab)}

    def encode(text):
        return torch.tensor([index.get(c, 0) for c in text], dtype=torch.long)

    train_ids = [encode(t) for t, _ in split["train"]]
    train_labels = [l for _, l in split["train"]]
    test_ids = [encode(t) for t, _ in split["test"]]
    test_labels = [l for _, l in split["test"]]
    lengths = [len(s) for s in train_ids]

    weight = None
    if cfg.class_weights == "balanced":
        counts = [0] * classes
        for l in train_labels:
            counts[l] += 1
        present = sum(1 for c in counts if c)
        weight = torch.tensor([len(train_labels) / (present * c) if c else 0.0 for c in counts])

    model = Classifier(len(vocab), classes, cfg.embedding, cfg.hidden, cfg.layers, cfg.cell,
                       cfg.bidirectional, cfg.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    emit({"type": "config", **vars(cfg), "train": len(train_ids), "test": len(test_ids),
          "vocab": len(vocab), "classes": classes,
          "parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__})

    wall_start = time.perf_counter()
    train_seconds = 0.0
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        loss_sum, seen = 0.0, 0
        for batch in bucketed_batches(range(len(train_ids)), lengths, cfg.batch, rng):
            started = time.perf_counter()
            optimizer.zero_grad()
            logits = model([train_ids[i] for i in batch])
            target = torch.tensor([train_labels[i] for i in batch])
            loss = F.cross_entropy(logits, target, weight=weight)
            loss.backward()
            if cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            optimizer.step()
            train_seconds += time.perf_counter() - started
            loss_sum += loss.item() * len(batch)
            seen += len(batch)
        test_loss, accuracy, macro_f1, confusion = evaluate(model, test_ids, test_labels, classes)
        emit({"type": "epoch", "epoch": epoch, "train_loss": loss_sum / seen, "test_loss": test_loss,
              "accuracy": accuracy, "macro_f1": macro_f1, "train_seconds": round(train_seconds, 2)})

    emit({"type": "summary", "epochs": cfg.epochs, "examples": len(test_ids), "accuracy": accuracy,
          "macro_f1": macro_f1, "test_loss": test_loss, "train_seconds": round(train_seconds, 2),
          "wall_seconds": round(time.perf_counter() - wall_start, 2), "labels": labels,
          "confusion": confusion})
    if cfg.save_dir:
        save_checkpoint(model, vocab, labels, cfg, cfg.save_dir)
    if out:
        out.close()


if __name__ == "__main__":
    main()
