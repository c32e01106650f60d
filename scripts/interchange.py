#!/usr/bin/env python3
"""Checkpoint interchange fixtures between PyTorch and rnnlm (test/fixtures/interchange/).

Both directions, for every cell (lstm, gru, rnn = tanh, rnn_relu), on a small language model
(vocab 13, embedding 6, hidden 8, 2 layers, dropout 0.25 which eval mode ignores):

  torch -> rnnlm   torch_<cell>/         a checkpoint folder written here from a seeded PyTorch
                                         model: model.safetensors (its state_dict), config.json,
                                         vocab.json
                   torch_<cell>.json     fixed input ids (T=5, B=3) and the logits PyTorch computes
  rnnlm -> torch   rnnlm_<cell>/         a checkpoint folder written by rnnlm
                                         (npx tsx scripts/rnnlm_checkpoint_fixture.ts)
                   rnnlm_<cell>.torch.json  ids and the logits PyTorch computes after
                                         load_state_dict(strict=True) of rnnlm's model.safetensors

test/interchange.test.ts loads the torch_* checkpoints with loadLanguageModel and compares logits,
and for rnnlm_* regenerates the checkpoint (byte-identical model.safetensors) and compares its
logits with PyTorch's.

Half precision (torch -> rnnlm; test/half_precision.test.ts), for D = f16 and bf16:

  half_lm_<cell>_<D>/    the torch_<cell> model after .half() / .to(torch.bfloat16), saved as is
  half_vae_<D>/          a seeded sentence VAE (scripts/quality/vae_torch_check.py's module; the
                         config and vocab of test/fixtures/vae/ckpt_lstm2bi)
  half_classifier_<D>/   a seeded classifier (scripts/quality/torch_classifier.py's module: GRU,
                         2 layers, bidirectional)
  half_*_<D>.json        inputs; outputs from the rounded weights (the float32 model with its
                         weights rounded to D); outputs_f32 from the weights before rounding; and
                         bound, per output, sum_i |d output / d w_i| * max(u |w_i|, eta): the first-
                         order change that rounding every weight can cause (u = 2^-11, eta = 2^-25
                         for F16; u = 2^-8 for BF16). Outputs: LM logits, classifier scores, and
                         per sentence [summed NLL, KL] of the VAE with z = the posterior mean.
  half_float_bits.json   SHA-256 of PyTorch's .float() of all 65536 F16 and BF16 bit patterns

Regenerate (PyTorch >= 2.0, CPU is enough; the `safetensors` package is used when installed,
else the format is written and read by the small functions below, which produce the same bytes):

    npx tsx scripts/rnnlm_checkpoint_fixture.ts   # rnnlm_<cell>/ checkpoints
    python3 scripts/interchange.py                # torch_<cell>/, *.json
    python3 scripts/interchange.py --check        # recomputes all; exits 1 if a file would change

Logits are computed in float64 from the float32 weights (eval mode, zero initial state) and
rounded to float32; row t*B + b is step t of stream b, as rnnlm's LanguageModel.forward.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

try:
    import safetensors.torch as st
except ImportError:  # the hand-written reader/writer below is used instead
    st = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "interchange")

VOCAB = ["\n", " ", "a", "b", "c", "d", "e", "h", "i", "n", "o", "s", "t"]
SIZES = {"vocab_size": len(VOCAB), "embedding": 6, "hidden": 8, "layers": 2, "dropout": 0.25}
STEPS, BATCH = 5, 3
CELLS = ["lstm", "gru", "rnn", "rnn_relu"]
TORCH_SEEDS = {"lstm": 11, "gru": 12, "rnn": 13, "rnn_relu": 14}
IDS_SEED = 2024
METADATA = {"format": "pt"}


# --- the model ----------------------------------------------------------------------------------

class LanguageModel(nn.Module):
    """rnnlm's LanguageModel in PyTorch: the same module names, so the same state_dict."""

    def __init__(self, model):
        super().__init__()
        V, E, H, L, cell = model["vocab_size"], model["embedding"], model["hidden"], model["layers"], model["cell"]
        self.embedding = nn.Embedding(V, E)
        if cell == "lstm":
            self.rnn = nn.LSTM(E, H, L, dropout=model["dropout"])
        elif cell == "gru":
            self.rnn = nn.GRU(E, H, L, dropout=model["dropout"])
        else:
            self.rnn = nn.RNN(E, H, L, nonlinearity="relu" if cell == "rnn_relu" else "tanh", dropout=model["dropout"])
        self.decoder = nn.Linear(H, V)

    def forward(self, ids):  # ids (T, B) -> logits (T*B, V)
        output, _ = self.rnn(self.embedding(ids))
        return self.decoder(output.reshape(-1, output.shape[-1]))


def reference_logits(model, ids):
    """Eval-mode logits in float64 from the float32 weights."""
    double = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        return double(ids)


# --- safetensors without the package ------------------------------------------------------------

DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64", torch.int64: "I64",
          torch.float16: "F16", torch.bfloat16: "BF16"}
# The Rust library's Dtype enum order (F16 < BF16 < I32 < F32 < F64 < I64); it writes higher first.
RANK = {"F16": 0, "BF16": 1, "I32": 2, "F32": 3, "F64": 4, "I64": 5}
NP = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8", "F16": "<i2", "BF16": "<i2"}
HALF = {"F16": torch.float16, "BF16": torch.bfloat16}  # stored as their bit patterns (numpy has no bfloat16)


def tensor_bytes(t, dtype):
    t = t.detach().cpu().contiguous()
    if dtype in HALF:
        t = t.view(torch.int16)
    return np.ascontiguousarray(t.numpy().astype(NP[dtype])).tobytes()


def encode_safetensors(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-RANK[DTYPES[kv[1].dtype]], kv[0].encode("utf-8")))
    parts, blobs, offset = [], [], 0
    if metadata:
        meta = ",".join(json.dumps(k, ensure_ascii=False) + ":" + json.dumps(v, ensure_ascii=False)
                        for k, v in sorted(metadata.items(), key=lambda kv: kv[0].encode("utf-8")))
        parts.append('"__metadata__":{' + meta + "}")
    for name, t in items:
        dtype = DTYPES[t.dtype]
        blob = tensor_bytes(t, dtype)
        parts.append("%s:{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%d,%d]}" % (
            json.dumps(name, ensure_ascii=False), dtype, ",".join(str(d) for d in t.shape), offset, offset + len(blob)))
        blobs.append(blob)
        offset += len(blob)
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    header += b" " * ((8 - len(header) % 8) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(blobs)


def decode_safetensors(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=NP[info["dtype"]]).reshape(info["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.view(HALF[info["dtype"]]) if info["dtype"] in HALF else t
    return out


def save_bytes(tensors):
    tensors = {k: v.detach().contiguous() for k, v in tensors.items()}
    mine = encode_safetensors(tensors, METADATA)
    if st is not None:
        theirs = st.save(tensors, metadata=METADATA)
        if theirs != mine:
            sys.exit("interchange.py: the hand-written safetensors writer disagrees with the safetensors package")
    return mine


def load_bytes(data):
    return st.load(data) if st is not None else decode_safetensors(data)


# --- files --------------------------------------------------------------------------------------

def f32_list(t):
    out = []
    for v in np.asarray(t.detach().cpu().double().numpy(), dtype=np.float64).reshape(-1).astype(np.float32):
        if not math.isfinite(float(v)):
            raise ValueError("non-finite logit")
        out.append(json.loads(str(v)))  # shortest decimal that round-trips to the same float32
    return out


def json_text(value):
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def config_for(cell):
    return {"format": "rnnlm", "format_version": 1, "kind": "language_model",
            "model": dict(SIZES, cell=cell), "tokenizer": {"level": "char"}}


def fixed_ids():
    g = torch.Generator()
    g.manual_seed(IDS_SEED)
    return torch.randint(0, SIZES["vocab_size"], (STEPS, BATCH), generator=g)


def compact_json_text(value):
    """One line per top-level key: small, and still readable in a diff."""
    lines = ["  %s: %s" % (json.dumps(k), json.dumps(v, ensure_ascii=False)) for k, v in value.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def logits_file(model, ids, meta):
    logits = reference_logits(model.eval(), ids)
    return compact_json_text({
        "meta": dict(meta, generator="scripts/interchange.py", torch=torch.__version__.split("+")[0],
                     steps=STEPS, batch=BATCH, rows="t*B+b"),
        "ids": {"shape": [STEPS, BATCH], "data": ids.reshape(-1).tolist()},
        "logits": {"shape": [STEPS * BATCH, SIZES["vocab_size"]], "data": f32_list(logits)},
    })


def torch_fixtures():
    """{relative path: bytes} of the torch -> rnnlm direction."""
    files = {}
    ids = fixed_ids()
    for cell in CELLS:
        torch.manual_seed(TORCH_SEEDS[cell])
        model = LanguageModel(dict(SIZES, cell=cell))
        folder = "torch_" + cell
        files[folder + "/model.safetensors"] = save_bytes(model.state_dict())
        files[folder + "/config.json"] = json_text(config_for(cell)).encode("utf-8")
        files[folder + "/vocab.json"] = json_text({"level": "char", "tokens": VOCAB, "specials": {}}).encode("utf-8")
        files[folder + ".json"] = logits_file(model, ids, {"cell": cell, "seed": TORCH_SEEDS[cell]}).encode("utf-8")
    return files


def rnnlm_fixtures():
    """{relative path: bytes} of the rnnlm -> torch direction (needs the rnnlm_<cell>/ folders)."""
    files = {}
    ids = fixed_ids()
    for cell in CELLS:
        folder = os.path.join(OUT_DIR, "rnnlm_" + cell)
        path = os.path.join(folder, "model.safetensors")
        if not os.path.exists(path):
            sys.exit("interchange.py: %s is missing; run `npx tsx scripts/rnnlm_checkpoint_fixture.ts` first" % path)
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        with open(path, "rb") as f:
            data = f.read()
        state = load_bytes(data)
        # rnnlm's writer must produce what the reference writer produces for the same tensors.
        if save_bytes(state) != data:
            sys.exit("interchange.py: %s is not byte-identical to the reference safetensors encoding" % path)
        model = LanguageModel(config["model"])
        model.load_state_dict(state, strict=True)
        files["rnnlm_%s.torch.json" % cell] = logits_file(model, ids, {"cell": cell}).encode("utf-8")
    return files


# --- half-precision checkpoints (PyTorch -> rnnlm) ----------------------------------------------

sys.path.insert(0, os.path.join(ROOT, "scripts", "quality"))
from torch_classifier import Classifier  # noqa: E402  (the classifier quality reference's module)
from vae_torch_check import ReferenceLayoutVAE  # noqa: E402  (the sentence-VAE check's module)

VAE_DIR = os.path.join(ROOT, "test", "fixtures", "vae")
VAE_SOURCE = "ckpt_lstm2bi"  # its config.json and vocab.json: a 2-layer LSTM with a bidirectional encoder
VAE_SENTENCES, VAE_SEED = 4, 21
CLASSIFIER = {"vocab_size": 12, "embedding": 5, "hidden": 6, "layers": 2, "cell": "gru", "bidirectional": True,
              "dropout": 0.1, "num_classes": 3}
CLASSIFIER_VOCAB = ["\ufffd"] + list("abcdefghijk")
CLASSIFIER_LABELS = ["one", "two", "three"]
CLASSIFIER_SEED, CLASSIFIER_INPUTS = 22, [5, 1, 7, 3]  # sequence lengths
# Round to nearest even changes a weight w by at most u*|w| (u = 2^-11 for F16, 2^-8 for BF16),
# or by half the subnormal spacing below the smallest normal (2^-25, and 2^-134 for BF16).
ROUNDING = {"F16": (2.0 ** -11, 2.0 ** -25), "BF16": (2.0 ** -8, 2.0 ** -134)}


def weight_rounding(model, dtype):
    """Per weight of `model`, the most rounding it to `dtype` can change it (checked on the weights)."""
    u, eta = ROUNDING[dtype]
    out = []
    for p in model.parameters():
        limit = torch.clamp(u * p.detach().abs(), min=eta)
        assert bool(((p.detach().to(HALF[dtype]).double() - p.detach()).abs() <= limit).all()), "rounding bound"
        out.append(limit)
    return out


def first_order_bound(model, run, dtype):
    """|outputs(rounded weights) - outputs(weights)| <= sum_i |d output / d w_i| * limit_i, to
    first order in the rounding: the change the dtype's rounding can cause, per output."""
    limits = weight_rounding(model, dtype)
    params = list(model.parameters())
    out = run(model).reshape(-1)
    bound = torch.zeros_like(out)
    for k in range(out.numel()):
        grads = torch.autograd.grad(out[k], params, retain_graph=True, allow_unused=True)
        bound[k] = sum((g.abs() * l).sum() for g, l in zip(grads, limits) if g is not None)
    return bound


def half_fixture(folder, model, dtype, run, inputs, meta, config_text, vocab_text):
    """{relative path: bytes}: `model` saved in `dtype` (as .half() / .to(torch.bfloat16) would)
    with the outputs of its rounded weights, of its own float32 weights, and the first-order bound
    on their difference. Outputs are computed in float64 in eval mode."""
    model = model.eval()
    low = copy.deepcopy(model).to(HALF[dtype])
    assert all(DTYPES[t.dtype] == dtype for t in low.state_dict().values())
    rounded = copy.deepcopy(low).double().eval()
    original = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        outputs, outputs_f32 = run(rounded), run(original)
    bound = first_order_bound(original, run, dtype).reshape(outputs.shape)
    shape = list(outputs.shape)
    fixture = {
        "meta": dict(meta, dtype=dtype, generator="scripts/interchange.py", torch=torch.__version__.split("+")[0]),
        "inputs": inputs,
        "outputs": {"shape": shape, "data": f32_list(outputs)},
        "outputs_f32": {"shape": shape, "data": f32_list(outputs_f32)},
        "bound": {"shape": shape, "data": f32_list(bound)},
    }
    return {
        folder + "/model.safetensors": save_bytes(low.state_dict()),
        folder + "/config.json": config_text,
        folder + "/vocab.json": vocab_text,
        folder + ".json": compact_json_text(fixture).encode("utf-8"),
    }


def half_language_models(dtype):
    files = {}
    ids = fixed_ids()
    vocab = json_text({"level": "char", "tokens": VOCAB, "specials": {}}).encode("utf-8")
    for cell in CELLS:
        torch.manual_seed(TORCH_SEEDS[cell])  # the torch_<cell> model
        model = LanguageModel(dict(SIZES, cell=cell))
        inputs = {"shape": [STEPS, BATCH], "data": ids.reshape(-1).tolist()}
        meta = {"kind": "language_model", "cell": cell, "seed": TORCH_SEEDS[cell], "outputs": "logits (T*B, V), row t*B+b"}
        files.update(half_fixture("half_lm_%s_%s" % (cell, dtype.lower()), model, dtype, lambda m: m(ids), inputs, meta,
                                  json_text(config_for(cell)).encode("utf-8"), vocab))
    return files


def vae_sentences(m, tokens):
    """The first sentences of test/fixtures/vae/sentences.txt as word ids (no specials), cut to
    max_length - 1 words, as rnnlm reads them."""
    sp = m["specials"]
    index = {t: i for i, t in enumerate(tokens)}
    specials = {sp["pad"], sp["sos"], sp["eos"]}
    out = []
    with open(os.path.join(VAE_DIR, "sentences.txt"), encoding="utf-8") as f:
        for line in f:
            words = line.lower().split()
            if words:
                ids = [index.get(w, sp["unk"]) for w in words][: m["max_length"] - 1]
                out.append([sp["unk"] if i in specials else i for i in ids])
    return out[:VAE_SENTENCES]


def vae_scores(model, sentences, sp):
    """(B, 2): [summed NLL, KL] of each sentence alone, z = the posterior mean."""
    rows = []
    for s in sentences:
        inputs = torch.tensor([[sp["sos"]] + s])
        targets = torch.tensor([s + [sp["eos"]]])
        nll, kl = model.score(inputs, targets, [len(s) + 1])
        rows.append(torch.stack([nll, kl.to(nll.dtype)]))
    return torch.stack(rows)


def half_sentence_vae(dtype):
    with open(os.path.join(VAE_DIR, VAE_SOURCE, "config.json"), "rb") as f:
        config_text = f.read()
    with open(os.path.join(VAE_DIR, VAE_SOURCE, "vocab.json"), "rb") as f:
        vocab_text = f.read()
    m = json.loads(config_text)["model"]
    sentences = vae_sentences(m, json.loads(vocab_text)["tokens"])
    torch.manual_seed(VAE_SEED)
    model = ReferenceLayoutVAE(m)
    meta = {"kind": "sentence_vae", "cell": m["cell"], "seed": VAE_SEED, "config": "test/fixtures/vae/%s" % VAE_SOURCE,
            "outputs": "per sentence [summed NLL, KL] with z = the posterior mean"}
    return half_fixture("half_vae_%s" % dtype.lower(), model, dtype, lambda net: vae_scores(net, sentences, m["specials"]),
                        sentences, meta, config_text, vocab_text)


def half_classifier(dtype):
    c = CLASSIFIER
    g = torch.Generator()
    g.manual_seed(IDS_SEED)
    sequences = [torch.randint(0, c["vocab_size"], (n,), generator=g) for n in CLASSIFIER_INPUTS]
    torch.manual_seed(CLASSIFIER_SEED)
    model = Classifier(c["vocab_size"], c["num_classes"], c["embedding"], c["hidden"], c["layers"], c["cell"],
                       c["bidirectional"], c["dropout"])
    config = {"format": "rnnlm", "format_version": 1, "kind": "classifier", "model": c,
              "tokenizer": {"level": "char"}, "labels": CLASSIFIER_LABELS}
    vocab = {"level": "char", "tokens": CLASSIFIER_VOCAB, "specials": {"unk": 0}}
    meta = {"kind": "classifier", "cell": c["cell"], "seed": CLASSIFIER_SEED, "outputs": "class scores (B, C)"}
    return half_fixture("half_classifier_%s" % dtype.lower(), model, dtype, lambda m: m(sequences),
                        [s.tolist() for s in sequences], meta,
                        json_text(config).encode("utf-8"), json_text(vocab).encode("utf-8"))


def conversion_digests():
    """SHA-256 of PyTorch's .float() of every F16 and every BF16 bit pattern (0..65535, as
    little-endian float32 bytes), for the test of rnnlm's own conversion."""
    patterns = torch.arange(65536, dtype=torch.int32).to(torch.int16)
    digest = {}
    for dtype, torch_dtype in HALF.items():
        widened = patterns.view(torch_dtype).float().view(torch.int32).numpy().astype("<i4").tobytes()
        digest[dtype] = hashlib.sha256(widened).hexdigest()
    return compact_json_text({"meta": {"generator": "scripts/interchange.py", "torch": torch.__version__.split("+")[0],
                                       "what": "sha256 of float32 bytes of .float() of bit patterns 0..65535"},
                              "sha256": digest})


def half_fixtures():
    """{relative path: bytes} of the F16 and BF16 checkpoints of every model kind."""
    files = {"half_float_bits.json": conversion_digests().encode("utf-8")}
    for dtype in HALF:
        files.update(half_language_models(dtype))
        files.update(half_sentence_vae(dtype))
        files.update(half_classifier(dtype))
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="recompute and fail if any file would change")
    args = parser.parse_args()
    files = {}
    files.update(torch_fixtures())
    files.update(rnnlm_fixtures())
    files.update(half_fixtures())
    changed = []
    for rel, data in sorted(files.items()):
        path = os.path.join(OUT_DIR, rel)
        old = open(path, "rb").read() if os.path.exists(path) else None
        if old == data:
            continue
        changed.append(rel)
        if not args.check:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    writer = "the safetensors package" if st is not None else "the built-in writer (safetensors package not installed)"
    if args.check:
        if changed:
            print("would change: " + ", ".join(changed))
            sys.exit(1)
        print("interchange fixtures up to date (%d files; %s)" % (len(files), writer))
    else:
        print("wrote %d of %d files to %s (%s)" % (len(changed), len(files), os.path.relpath(OUT_DIR, ROOT), writer))


if __name__ == "__main__":
    main()
