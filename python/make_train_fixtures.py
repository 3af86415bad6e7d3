"""Writes the training fixtures into test/fixtures/train (see test/fixtures/README.md).

- NAME.safetensors + NAME.json for every gradient case: random float32 weights, a batch
  with labels and negatives (lengths 0, 1, T and mixed), and the training-mode loss and
  every gradient from PyTorch autograd in float64 on those weights.
- curve.safetensors + curve.json: the losses of 300 lazy-Adam steps (dien_ref.train) on
  batches drawn by the MINSTD generator that test/training.test.ts reimplements.

    /usr/bin/python3 python/make_train_fixtures.py [--out test/fixtures/train]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, default_config, write_safetensors  # noqa: E402
from dien_ref.train import LazyAdam, needs_negatives, touched_rows, training_loss  # noqa: E402
from make_fixtures import random_batch, randomize  # noqa: E402

SMALL = dict(itemVocab=30, catVocab=7, userVocab=9, dItem=4, dCat=4, dUser=4, hidden=8, maxLen=6,
             attentionHidden=[6, 5], mlpHidden=[7, 5], auxHidden=[6, 4])

CASES = [
    ("base", dict(model="base")),
    ("wide-deep", dict(model="wide-deep")),
    ("pnn", dict(model="pnn")),
    ("din", dict(model="din")),
    ("gru-att", dict(model="gru-att")),
    ("dien-aigru", dict(model="dien-aigru")),
    ("dien-agru", dict(model="dien-agru")),
    ("dien-augru", dict(model="dien-augru")),
    ("dien", dict(model="dien")),
    ("dien-augru-orig-before", dict(model="dien", evolution="augru-orig", gruCell="reset-before")),
    ("dien-agru-bilinear", dict(model="dien", evolution="agru", attention="bilinear")),
    ("dien-aigru-before-bilinear", dict(model="dien", evolution="aigru", gruCell="reset-before", attention="bilinear")),
    ("dien-gru-att-before", dict(model="dien", evolution="gru-att", gruCell="reset-before")),
    ("dien-dice-bn-dot", dict(model="dien", mlpBn=True, auxNet="dot", userVocab=0, dUser=0)),
    ("dien-prelu-bn", dict(model="dien", activation="prelu", mlpBn=True)),
    ("dien-relu-before", dict(model="dien", activation="relu", gruCell="reset-before")),
    ("pnn-no-user-bn", dict(model="pnn", userVocab=0, dUser=0, mlpBn=True)),
]


def random_train_batch(c, B, gen):
    """random_batch (lengths 0, 1, T and mixed) plus labels and, with the aux net on, negatives."""
    T = c["maxLen"]
    b = random_batch(c, B, gen)
    b["label"] = torch.randint(0, 2, (B,), generator=gen).to(torch.float32)
    if needs_negatives(c):
        b["negItem"] = torch.randint(0, c["itemVocab"], (B, T), generator=gen)
        b["negCat"] = torch.randint(0, c["catVocab"], (B, T), generator=gen)
    return b


def flat(t):
    return [float(v) for v in t.reshape(-1).tolist()]


def gradient_case(name, overrides, out, seed):
    c = default_config(**{**SMALL, **overrides})
    gen = torch.Generator().manual_seed(seed)
    ref = DienRef(c)
    randomize(ref, gen)
    write_safetensors(os.path.join(out, name + ".safetensors"), ref.state_dict(), c)
    b = random_train_batch(c, 8, gen)
    ref = ref.double()
    loss, bce, aux, logits = training_loss(ref, b)
    loss.backward()
    grads = {n: flat(p.grad if p.grad is not None else torch.zeros_like(p)) for n, p in ref.named_parameters()}
    doc = {"batch": {k: flat(v) if k == "label" else [int(x) for x in v.reshape(-1).tolist()] for k, v in b.items()},
           "loss": loss.item(), "bceLoss": bce.item(), "auxLoss": aux.item(), "logits": flat(logits.detach()),
           "gradients": grads}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))


class Minstd:
    """Park-Miller minimal standard generator: exact in float64 arithmetic, so JS draws the same numbers."""

    def __init__(self, seed):
        self.s = seed

    def next(self, n):
        self.s = self.s * 48271 % 2147483647
        return self.s % n


CURVE = dict(model="dien", itemVocab=40, catVocab=6, userVocab=5, dItem=4, dCat=4, dUser=4, hidden=8, maxLen=8,
             attentionHidden=[8, 4], mlpHidden=[12, 6], auxHidden=[8, 4])
CURVE_STEPS, CURVE_B, CURVE_LR = 300, 16, 3e-3


def curve_batch(c, rng, B):
    """A learnable toy task: the target's category parity matches the first behaviour's."""
    T = c["maxLen"]
    b = {k: [] for k in ("targetItem", "targetCat", "user", "histLen", "histItem", "histCat", "negItem", "negCat", "label")}
    for _ in range(B):
        ti, tc, u, L = rng.next(c["itemVocab"]), rng.next(c["catVocab"]), rng.next(c["userVocab"]), rng.next(T + 1)
        hi = [rng.next(c["itemVocab"]) for _ in range(T)]
        hc = [rng.next(c["catVocab"]) for _ in range(T)]
        ni = [rng.next(c["itemVocab"]) for _ in range(T)]
        nc = [rng.next(c["catVocab"]) for _ in range(T)]
        y = (1 if tc % 2 == hc[0] % 2 else 0) if L > 0 else rng.next(2)
        for k, v in (("targetItem", ti), ("targetCat", tc), ("user", u), ("histLen", L), ("label", y)):
            b[k].append(v)
        for k, v in (("histItem", hi), ("histCat", hc), ("negItem", ni), ("negCat", nc)):
            b[k].extend(v)
    out = {k: torch.tensor(v).reshape(B, T) if k in ("histItem", "histCat", "negItem", "negCat") else torch.tensor(v)
           for k, v in b.items()}
    out["label"] = out["label"].to(torch.float32)
    return out


def loss_curve(out):
    c = default_config(**CURVE)
    gen = torch.Generator().manual_seed(5)
    ref = DienRef(c)
    randomize(ref, gen)
    write_safetensors(os.path.join(out, "curve.safetensors"), ref.state_dict(), c)
    ref = ref.double()
    opt = LazyAdam(ref, lr=CURVE_LR)
    rng = Minstd(12345)
    losses = []
    for _ in range(CURVE_STEPS):
        b = curve_batch(c, rng, CURVE_B)
        ref.zero_grad()
        loss, _, _, _ = training_loss(ref, b)
        loss.backward()
        opt.step(touched_rows(c, b))
        opt.update_running_stats()
        losses.append(loss.item())
    with open(os.path.join(out, "curve.json"), "w") as f:
        json.dump({"seed": 12345, "batch": CURVE_B, "lr": CURVE_LR, "losses": losses}, f)
    return losses


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "train"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    for i, (name, overrides) in enumerate(CASES):
        gradient_case(name, overrides, args.out, 100 + i)
    losses = loss_curve(args.out)
    print(f"{len(CASES)} gradient cases; loss curve {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
