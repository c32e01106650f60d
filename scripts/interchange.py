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

DTYPES = {torch.float32: "F32", torch.int32: "I32", torch.float64: "F64", torch.int64: "I64"}
RANK = {"I32": 0, "F32": 1, "F64": 2, "I64": 3}  # the Rust library writes higher ranks first
NP = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8"}


def encode_safetensors(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-RANK[DTYPES[kv[1].dtype]], kv[0].encode("utf-8")))
    parts, blobs, offset = [], [], 0
    if metadata:
        meta = ",".join(json.dumps(k, ensure_ascii=False) + ":" + json.dumps(v, ensure_ascii=False)
                        for k, v in sorted(metadata.items(), key=lambda kv: kv[0].encode("utf-8")))
        parts.append('"__metadata__":{' + meta + "}")
    for name, t in items:
        dtype = DTYPES[t.dtype]
        blob = np.ascontiguousarray(t.detach().cpu().numpy().astype(NP[dtype])).tobytes()
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
        out[name] = torch.from_numpy(arr.copy())
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="recompute and fail if any file would change")
    args = parser.parse_args()
    files = {}
    files.update(torch_fixtures())
    files.update(rnnlm_fixtures())
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
