"""Training on PyTorch's distributed engine: the python/ reference trained on the same
files and formats as `dien train` (docs/model.md §13), writing weight files with
vocabularies that `DienModel.load` serves unchanged.

    torchrun --nproc_per_node 2 python/train.py --format movielens --train ml-latest-small \\
        --model dien --epochs 2 --out model.safetensors          # gloo on CPU, nccl on GPU
    /usr/bin/python3 python/train.py ...                          # one process

Every rank reads the data, builds the same vocabularies and shuffles with the same seed,
then trains on its slice of every batch under DistributedDataParallel (gradients averaged,
so the step equals one on the whole batch). Differences from the Node trainer: PyTorch's
dense Adam (every embedding row's moments decay every step, not only the rows read), and
negatives drawn by this script's own seeded sampler. docs/scaling.md says when to use which.
"""
import argparse
import json
import os
import random
import sys
import time

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, default_config, write_safetensors  # noqa: E402
from dien_ref.train import aux_loss, needs_negatives, set_batch_stats, training_loss, update_running_stats  # noqa: E402


# --- data (mirrors lib/data: the same parsing, protocol and vocabulary order) ----------

def read_lines(path, fmt):
    files = sorted(os.path.join(path, f) for f in os.listdir(path)) if os.path.isdir(path) else [path]
    out = []
    for file in files:
        with open(file, encoding="utf8", newline="") as f:
            for n, raw in enumerate(f, 1):
                line = raw.rstrip("\n").rstrip("\r")
                if not line.strip():
                    continue
                if fmt == "dien":
                    p = line.split("\t")
                    if len(p) != 6 or p[0] not in ("0", "1"):
                        raise ValueError(f"{file}:{n}: malformed line")
                    hi = p[4].split("\x02") if p[4] else []
                    hc = p[5].split("\x02") if p[5] else []
                    out.append((int(p[0]), p[1], p[2], p[3], hi, hc))
                else:
                    p = line.split(";")
                    if len(p) != 5 or p[4].strip() not in ("0", "1"):
                        raise ValueError(f"{file}:{n}: malformed line")
                    hi = p[0].split() if p[0].strip() else []
                    hc = p[1].split() if p[1].strip() else []
                    out.append((int(p[4]), "", p[2].strip(), p[3].strip(), hi, hc))
    return out


class Mulberry32:
    """lib/synthetic.ts's generator, so both sides split MovieLens users identically."""

    def __init__(self, seed):
        self.a = seed & 0xFFFFFFFF

    def __call__(self):
        self.a = (self.a + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296


def movielens(path, split, seed):
    genres = {}
    with open(os.path.join(path, "movies.csv"), encoding="utf8") as f:
        next(f)
        for line in f:
            line = line.rstrip("\r\n")
            if line:
                genres[line[: line.index(",")]] = line[line.rindex(",") + 1 :].split("|")[0]
    by_user = {}
    with open(os.path.join(path, "ratings.csv"), encoding="utf8") as f:
        next(f)
        for line in f:
            u, i, _, t = line.rstrip("\r\n").split(",")
            by_user.setdefault(int(u), []).append((float(t), int(i)))
    items = sorted({i for ev in by_user.values() for _, i in ev})
    cat = lambda i: genres.get(str(i), "(unknown)")  # noqa: E731
    split01, r = Mulberry32(seed), Mulberry32(seed ^ 0x9E3779B9)
    train, test = [], []
    for u in sorted(by_user):
        target = train if split01() < 0.9 else test
        ev = sorted(by_user[u])
        hi, hc = [str(i) for _, i in ev], [cat(i) for _, i in ev]
        start = max(1, len(ev) - 1) if split == "last" else 1
        for t in range(start, len(ev)):
            pos = ev[t][1]
            neg = pos
            while neg == pos and len(items) > 1:
                neg = items[int(r() * len(items))]
            target.append((1, str(u), str(pos), cat(pos), hi[:t], hc[:t]))
            target.append((0, str(u), str(neg), cat(neg), hi[:t], hc[:t]))
    return train, test


def vocabulary(counts):
    """Most frequent first, ties in first-seen order, "" at 0 (lib/data/vocab.ts)."""
    order = sorted(((n, k, t) for k, (t, n) in enumerate(counts.items()) if t), key=lambda x: (-x[0], x[1]))
    return [""] + [t for _, _, t in order]


def build_vocab(samples):
    items, cats, users = {}, {}, {}
    for y, u, i, c, hi, hc in samples:
        items[i] = items.get(i, 0) + 1
        cats[c] = cats.get(c, 0) + 1
        if u:
            users[u] = users.get(u, 0) + 1
        for t in hi:
            items[t] = items.get(t, 0) + 1
        for t in hc:
            cats[t] = cats.get(t, 0) + 1
    v = {"items": vocabulary(items), "cats": vocabulary(cats)}
    if users:
        v["users"] = vocabulary(users)
    return v


def encode(samples, vocab, T):
    ids = {k: {t: n for n, t in enumerate(v)} for k, v in vocab.items()}
    B = len(samples)
    b = {k: torch.zeros(B, dtype=torch.int64) for k in ("targetItem", "targetCat", "histLen", "user")}
    b["histItem"] = torch.zeros(B, T, dtype=torch.int64)
    b["histCat"] = torch.zeros(B, T, dtype=torch.int64)
    b["label"] = torch.zeros(B)
    for n, (y, u, i, c, hi, hc) in enumerate(samples):
        b["targetItem"][n] = ids["items"].get(i, 0)
        b["targetCat"][n] = ids["cats"].get(c, 0)
        b["user"][n] = ids.get("users", {}).get(u, 0)
        b["label"][n] = y
        L = min(len(hi), T)
        b["histLen"][n] = L
        b["histItem"][n, :L] = torch.tensor([ids["items"].get(t, 0) for t in hi[len(hi) - L :]], dtype=torch.int64)
        b["histCat"][n, :L] = torch.tensor([ids["cats"].get(t, 0) for t in hc[len(hc) - L :]], dtype=torch.int64)
    return b


def auc(scores, labels):
    order = sorted(range(len(scores)), key=lambda k: scores[k])
    pos = rank = 0.0
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        mid = (i + 1 + j) / 2
        for k in range(i, j):
            if labels[order[k]] == 1:
                pos += 1
                rank += mid
        i = j
    neg = len(order) - pos
    return (rank - pos * (pos + 1) / 2) / (pos * neg) if pos and neg else float("nan")


# --- training ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", choices=["dien", "din", "movielens"], default="dien")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test")
    ap.add_argument("--split", choices=["all", "last"], default="all")
    ap.add_argument("--model", default="dien")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=100)
    ap.add_argument("--out", default="model.safetensors")
    args = ap.parse_args()

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    torch.manual_seed(args.seed)

    if args.format == "movielens":
        train, test = movielens(args.train, args.split, args.seed)
    else:
        train, test = read_lines(args.train, args.format), read_lines(args.test, args.format) if args.test else []
    vocab = build_vocab(train)
    users = len(vocab.get("users", []))
    c = default_config(model=args.model, itemVocab=len(vocab["items"]), catVocab=len(vocab["cats"]), userVocab=users,
                       dItem=18, dCat=18, dUser=18 if users else 0, hidden=36, maxLen=args.max_len)
    ref = DienRef(c)
    with torch.no_grad():  # docs/model.md §9 embeddings: N(0, 0.01^2), row 0 zero; the rest as PyTorch inits
        for name in ("item", "cat", "user"):
            if hasattr(ref.embedding, name):
                w = getattr(ref.embedding, name).weight
                w.normal_(0, 0.01)
                w[0].zero_()
    model = torch.nn.parallel.DistributedDataParallel(ref) if world > 1 else ref
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    data = encode(train, vocab, c["maxLen"])
    n = len(train)
    events = [(int(i), int(ct)) for b in range(n) for i, ct in zip(data["histItem"][b, : data["histLen"][b]], data["histCat"][b, : data["histLen"][b]])]
    t0 = time.time()
    for epoch in range(args.epochs):
        order = list(range(n))
        random.Random(args.seed * 1000 + epoch).shuffle(order)
        neg_rng = random.Random(args.seed * 7919 + epoch)
        for start in range(0, n, args.batch):
            idx = order[start : start + args.batch]
            mine = idx[rank::world]  # this rank's slice of the batch
            b = {k: v[mine] for k, v in data.items()}
            if not users:
                b.pop("user")
            if needs_negatives(c):
                ni = torch.zeros_like(b["histItem"])
                nc = torch.zeros_like(b["histCat"])
                for r_, L in enumerate(b["histLen"].tolist()):
                    for t in range(1, L):
                        e = events[neg_rng.randrange(len(events))]
                        for _ in range(16):
                            if e[0] != int(b["histItem"][r_, t]):
                                break
                            e = events[neg_rng.randrange(len(events))]
                        ni[r_, t], nc[r_, t] = e
                b["negItem"], b["negCat"] = ni, nc
            opt.zero_grad()
            loss, _, _, _ = training_loss(ref, b) if world == 1 else ddp_loss(model, b)
            loss.backward()
            opt.step()
            # running statistics (docs/model.md §7); DDP broadcasts rank 0's buffers at the next forward
            update_running_stats(ref)
        if rank == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, {time.time() - t0:.1f} s", file=sys.stderr)
    if rank == 0:
        state = {k: v.detach().float() for k, v in ref.state_dict().items()}
        write_safetensors(args.out, state, c, vocab)
        result = {"out": args.out, "processes": world, "trainSeconds": time.time() - t0, "samples": n * args.epochs}
        if test:
            with torch.no_grad():
                t = encode(test, vocab, c["maxLen"])
                logits = ref(t["targetItem"], t["targetCat"], t["histItem"], t["histCat"], t["histLen"], t["user"] if users else None)
            result["test"] = {"auc": auc(torch.sigmoid(logits).tolist(), t["label"].tolist()), "n": len(test)}
        print(json.dumps(result))
    if world > 1:
        dist.destroy_process_group()


def ddp_loss(model, b):
    """The training loss through the DDP wrapper (so its gradient hooks all-reduce)."""
    ref = model.module
    set_batch_stats(ref, True)
    try:
        logits = model(b["targetItem"], b["targetCat"], b["histItem"], b["histCat"], b["histLen"], b.get("user"))
    finally:
        set_batch_stats(ref, False)
    bce = F.binary_cross_entropy_with_logits(logits, b["label"])
    aux = aux_loss(ref, b) if needs_negatives(ref.c) else bce * 0
    return bce + ref.c["auxAlpha"] * aux, bce, aux, logits


if __name__ == "__main__":
    main()
