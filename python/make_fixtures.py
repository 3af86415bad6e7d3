"""Writes the golden parity fixtures into test/fixtures (see README there).

For every case: random float32 weights in a DienRef module (every tensor random, so
no zero-initialised bias hides a bug), saved as NAME.safetensors straight from its
state_dict; random inputs with lengths 0, 1, T and mixed; expected logits and
probabilities computed in float64 from those same float32 weights, saved in NAME.json.

    /usr/bin/python3 python/make_fixtures.py [--out test/fixtures]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, default_config, write_safetensors  # noqa: E402

SMALL = dict(itemVocab=40, catVocab=7, userVocab=9, dItem=18, dCat=18, dUser=18, maxLen=10, mlpHidden=[64, 24])

CASES = [
    ("base", dict(model="base")),
    ("wide-deep", dict(model="wide-deep")),
    ("pnn", dict(model="pnn")),
    ("pnn-no-user-bn", dict(model="pnn", userVocab=0, dUser=0, mlpBn=True)),
    ("din", dict(model="din", hidden=32)),
    ("gru-att", dict(model="gru-att")),
    ("dien-aigru", dict(model="dien-aigru")),
    ("dien-agru", dict(model="dien-agru", hidden=32)),
    ("dien-augru", dict(model="dien-augru", hidden=108)),
    ("dien", dict(model="dien", mlpHidden=[200, 80])),
    ("dien-augru-orig-before-bilinear", dict(model="dien", evolution="augru-orig", gruCell="reset-before", attention="bilinear", hidden=32)),
    ("dien-agru-before-h108", dict(model="dien", evolution="agru", gruCell="reset-before", hidden=108)),
    ("dien-aigru-bilinear", dict(model="dien", evolution="aigru", attention="bilinear")),
    ("dien-gru-att-before", dict(model="dien", evolution="gru-att", gruCell="reset-before", hidden=32)),
    ("dien-h108-prelu-bn", dict(model="dien", hidden=108, activation="prelu", mlpBn=True)),
    ("dien-relu-no-user-dot", dict(model="dien", activation="relu", userVocab=0, dUser=0, auxNet="dot", attentionHidden=[24], mlpHidden=[48, 16, 8])),
]


def randomize(module, gen):
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen))
            elif t.dim() == 2 and not name.startswith(("embedding", "wide")):
                t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * 1.5 / t.shape[1] ** 0.5)
            else:
                t.copy_((torch.rand(t.shape, generator=gen) * 2 - 1) * 0.5)


def random_batch(c, B, gen):
    T = c["maxLen"]
    ri = lambda n, shape: torch.randint(0, n, shape, generator=gen)
    lengths = torch.randint(0, T + 1, (B,), generator=gen)
    lengths[:3] = torch.tensor([0, 1, T])
    b = dict(targetItem=ri(c["itemVocab"], (B,)), targetCat=ri(c["catVocab"], (B,)), histItem=ri(c["itemVocab"], (B, T)),
             histCat=ri(c["catVocab"], (B, T)), histLen=lengths)
    if c["userVocab"] > 0:
        b["user"] = ri(c["userVocab"], (B,))
    return b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for i, (name, overrides) in enumerate(CASES):
        gen = torch.Generator().manual_seed(1000 + i)
        c = default_config(**{**SMALL, **overrides})
        model = DienRef(c)
        randomize(model, gen)
        write_safetensors(os.path.join(args.out, f"{name}.safetensors"), model.state_dict(), c)
        batch = random_batch(c, 16, gen)
        model64 = model.double().eval()
        with torch.no_grad():
            logits = model64(batch["targetItem"], batch["targetCat"], batch["histItem"], batch["histCat"], batch["histLen"], batch.get("user"))
        fixture = {
            "name": name,
            "config": c,
            "batch": {k: v.reshape(-1).tolist() for k, v in batch.items()},
            "expected": {"logits": logits.tolist(), "probabilities": torch.sigmoid(logits).tolist()},
        }
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            json.dump(fixture, f, indent=None, separators=(",", ":"))
        print(f"{name}: {sum(t.numel() for t in model.state_dict().values())} weights")


if __name__ == "__main__":
    main()
