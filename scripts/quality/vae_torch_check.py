#!/usr/bin/env python3
"""Loads an rnnlm sentence-VAE checkpoint into a PyTorch module laid out as the reference
implementation (timbmg/Sentence-VAE: attributes embedding, encoder_rnn, decoder_rnn, hidden2mean,
hidden2logv, latent2hidden, outputs2vocab; batch_first RNNs) with load_state_dict(strict=True),
and scores sentences with z = the posterior mean, so that the result can be compared with
`rnnlm vae eval -c CKPT --data FILE --z mean --json`.

Usage: python3 scripts/quality/vae_torch_check.py CKPT_DIR DATA_FILE [--limit N]
Prints one JSON object {"sentences", "tokens", "nll", "kl", "elbo"} (per sentence, as rnnlm).
The flatten of the encoder states is batch-major (h_n.transpose(0, 1)), as rnnlm's; with one
unidirectional layer that is the reference's squeeze().
"""
import argparse
import json
import os

import torch
import torch.nn as nn
import torch.nn.utils.rnn as rnn_utils


class ReferenceLayoutVAE(nn.Module):
    def __init__(self, m):
        super().__init__()
        cells = {'gru': nn.GRU, 'lstm': nn.LSTM, 'rnn': nn.RNN, 'rnn_relu': nn.RNN}
        extra = {'nonlinearity': 'relu'} if m['cell'] == 'rnn_relu' else {}
        rnn = cells[m['cell']]
        self.cell = m['cell']
        self.layers = m['layers']
        self.hidden = m['hidden']
        self.decoder_only = m['decoder_only']
        self.pad = m['specials']['pad']
        self.embedding = nn.Embedding(m['vocab_size'], m['embedding'])
        if not self.decoder_only:
            self.encoder_rnn = rnn(m['embedding'], m['hidden'], num_layers=m['layers'],
                                   bidirectional=m['bidirectional'], batch_first=True, **extra)
        self.decoder_rnn = rnn(m['embedding'], m['hidden'], num_layers=m['layers'], batch_first=True, **extra)
        if not self.decoder_only:
            factor = (2 if m['bidirectional'] else 1) * m['layers']
            self.hidden2mean = nn.Linear(m['hidden'] * factor, m['latent'])
            self.hidden2logv = nn.Linear(m['hidden'] * factor, m['latent'])
            self.latent2hidden = nn.Linear(m['latent'], m['hidden'] * m['layers'])
        self.outputs2vocab = nn.Linear(m['hidden'], m['vocab_size'])

    def score(self, inputs, targets, lengths):
        """Summed NLL and KL of a padded batch (B, T) with z = mean."""
        batch = inputs.size(0)
        emb = self.embedding(inputs)
        packed = rnn_utils.pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        kl = torch.zeros(())
        h0 = None
        if not self.decoder_only:
            _, state = self.encoder_rnn(packed)
            h_n = state[0] if self.cell == 'lstm' else state
            hidden = h_n.transpose(0, 1).reshape(batch, -1)
            mean, logv = self.hidden2mean(hidden), self.hidden2logv(hidden)
            kl = -0.5 * torch.sum(1 + logv - mean.pow(2) - logv.exp())
            h0 = self.latent2hidden(mean).view(batch, self.layers, self.hidden).transpose(0, 1).contiguous()
            if self.cell == 'lstm':
                h0 = (h0, torch.zeros_like(h0))  # rnnlm's lstm_c0: "zeros"
        out, _ = self.decoder_rnn(packed, h0)
        padded, _ = rnn_utils.pad_packed_sequence(out, batch_first=True, total_length=inputs.size(1))
        logits = self.outputs2vocab(padded)
        nll = nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=self.pad, reduction='sum')
        return nll, kl


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('checkpoint')
    parser.add_argument('data')
    parser.add_argument('--limit', type=int, default=0)
    args = parser.parse_args()
    with open(os.path.join(args.checkpoint, 'config.json')) as f:
        config = json.load(f)
    with open(os.path.join(args.checkpoint, 'vocab.json')) as f:
        vocab = json.load(f)
    m = config['model']
    assert config['tokenizer']['format'] == 'lines', 'this check reads one sentence per line'
    # Imported here so that scripts/interchange.py can use ReferenceLayoutVAE without the package.
    from safetensors.torch import load_file
    model = ReferenceLayoutVAE(m)
    model.load_state_dict(load_file(os.path.join(args.checkpoint, 'model.safetensors')), strict=True)
    model.eval()
    sp = m['specials']
    index = {t: i for i, t in enumerate(vocab['tokens'])}
    specials = {sp['pad'], sp['sos'], sp['eos']}
    sentences = []
    with open(args.data, encoding='utf-8') as f:
        for line in f:
            words = line.lower().split()
            if not words:
                continue
            ids = [index.get(w, sp['unk']) for w in words][: m['max_length'] - 1]
            sentences.append([sp['unk'] if i in specials else i for i in ids])
    if args.limit > 0:
        sentences = sentences[: args.limit]
    total_nll, total_kl, tokens = 0.0, 0.0, 0
    with torch.no_grad():
        for start in range(0, len(sentences), 64):
            chunk = sentences[start:start + 64]
            longest = max(len(s) for s in chunk) + 1
            inputs = torch.full((len(chunk), longest), sp['pad'], dtype=torch.long)
            targets = torch.full((len(chunk), longest), sp['pad'], dtype=torch.long)
            for b, s in enumerate(chunk):
                inputs[b, : len(s) + 1] = torch.tensor([sp['sos']] + s)
                targets[b, : len(s) + 1] = torch.tensor(s + [sp['eos']])
            lengths = [len(s) + 1 for s in chunk]
            nll, kl = model.score(inputs, targets, lengths)
            total_nll += nll.item()
            total_kl += kl.item()
            tokens += sum(lengths)
    n = len(sentences)
    print(json.dumps({'sentences': n, 'tokens': tokens, 'nll': total_nll / n, 'kl': total_kl / n, 'elbo': (total_nll + total_kl) / n}))


if __name__ == '__main__':
    main()
