#!/usr/bin/env python3
"""PyTorch baseline for bench/vae_step.ts: one training step of the sentence VAE in the reference
implementation's layout (timbmg/Sentence-VAE: embedding, packed batch_first encoder RNN,
hidden2mean/hidden2logv, z = mean + exp(logv / 2) * eps, latent2hidden, packed decoder RNN over
<sos> + words with embedding dropout, outputs2vocab, NLL summed + KL, / batch, Adam 1e-3).

The batches are the same on both sides: consecutive sentences of ptb.train.txt (their lengths,
cut at max length - 1 words), word ids made from positions (the ids do not change the work).
Prints one JSON line: the median milliseconds of a step over --steps steps after --warmup.
--packed-output applies outputs2vocab to the packed outputs, as rnnlm does, instead of the
reference's padded batch (which scores every padded position and masks it out).

    python3 bench/vae_step_torch.py --data ../shared/data/ptb/ptb.train.txt --threads 2
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.utils.rnn as rnn_utils

PAD, UNK, SOS, EOS = 0, 1, 2, 3


def batches(path, count, batch, max_length, vocab):
    with open(path, encoding='utf-8') as f:
        lengths = [min(len(line.split()), max_length - 1) for line in f if line.split()]
    out = []
    for i in range(count):
        rows = []
        for b in range(batch):
            n = lengths[(i * batch + b) % len(lengths)]
            rows.append([4 + ((i * batch + b) * 7919 + t * 104729) % (vocab - 4) for t in range(n)])
        out.append(rows)
    return out


class SentenceVAE(nn.Module):
    def __init__(self, vocab, embedding, hidden, latent, cell, embedding_dropout):
        super().__init__()
        rnn = {'gru': nn.GRU, 'lstm': nn.LSTM}[cell]
        self.cell, self.hidden = cell, hidden
        self.embedding = nn.Embedding(vocab, embedding)
        self.embedding_dropout = nn.Dropout(embedding_dropout)
        self.encoder_rnn = rnn(embedding, hidden, batch_first=True)
        self.decoder_rnn = rnn(embedding, hidden, batch_first=True)
        self.hidden2mean = nn.Linear(hidden, latent)
        self.hidden2logv = nn.Linear(hidden, latent)
        self.latent2hidden = nn.Linear(latent, hidden)
        self.outputs2vocab = nn.Linear(hidden, vocab)

    def forward(self, inputs, targets, lengths, packed_output=False):
        batch = inputs.size(0)
        emb = self.embedding(inputs)
        packed = rnn_utils.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        _, state = self.encoder_rnn(packed)
        h_n = state[0] if self.cell == 'lstm' else state
        hidden = h_n.transpose(0, 1).reshape(batch, -1)
        mean, logv = self.hidden2mean(hidden), self.hidden2logv(hidden)
        z = mean + torch.exp(0.5 * logv) * torch.randn_like(mean)
        h0 = self.latent2hidden(z).unsqueeze(0)
        if self.cell == 'lstm':
            h0 = (h0, torch.zeros_like(h0))
        dec = rnn_utils.pack_padded_sequence(self.embedding_dropout(emb), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.decoder_rnn(dec, h0)
        if packed_output:
            # The output layer over the packed outputs only (what rnnlm does): no padded rows.
            packed_targets = rnn_utils.pack_padded_sequence(targets, lengths, batch_first=True, enforce_sorted=False)
            nll = nn.functional.cross_entropy(self.outputs2vocab(out.data), packed_targets.data, reduction='sum')
        else:
            # The reference's way: pad, then the output layer over every (padded) position.
            padded, _ = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
            logits = self.outputs2vocab(padded)
            nll = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=PAD, reduction='sum')
        kl = -0.5 * torch.sum(1 + logv - mean.pow(2) - logv.exp())
        return nll, kl


def tensors(rows):
    longest = max(len(r) for r in rows) + 1
    inputs = torch.full((len(rows), longest), PAD, dtype=torch.long)
    targets = torch.full((len(rows), longest), PAD, dtype=torch.long)
    for b, r in enumerate(rows):
        inputs[b, : len(r) + 1] = torch.tensor([SOS] + r)
        targets[b, : len(r) + 1] = torch.tensor(r + [EOS])
    return inputs, targets, [len(r) + 1 for r in rows]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', required=True)
    p.add_argument('--vocab', type=int, default=9972)
    p.add_argument('--embedding', type=int, default=300)
    p.add_argument('--hidden', type=int, default=256)
    p.add_argument('--latent', type=int, default=16)
    p.add_argument('--cell', default='gru', choices=['gru', 'lstm'])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--max-length', type=int, default=60)
    p.add_argument('--steps', type=int, default=30)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--kl-weight', type=float, default=0.5)
    p.add_argument('--packed-output', action='store_true', help='output layer over the packed outputs, not the padded batch')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = SentenceVAE(a.vocab, a.embedding, a.hidden, a.latent, a.cell, 0.5)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = [tensors(rows) for rows in batches(a.data, a.warmup + a.steps, a.batch, a.max_length, a.vocab)]
    times = []
    for i, (inputs, targets, lengths) in enumerate(data):
        t0 = time.perf_counter()
        opt.zero_grad()
        nll, kl = model(inputs, targets, lengths, a.packed_output)
        loss = (nll + a.kl_weight * kl) / a.batch
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({'side': 'pytorch', 'output': 'packed' if a.packed_output else 'padded', 'cell': a.cell, 'batch': a.batch, 'ms_per_step': statistics.median(times), 'steps': a.steps, 'threads': a.threads, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
