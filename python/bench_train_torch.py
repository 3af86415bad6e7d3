"""The PyTorch peer of the training benchmark (`npm run bench:peers`): the same model and
batches, one optimiser step per batch, as a performance-minded PyTorch user would write it
(fused nn.GRU extractor, hoisted projections, the loop cut at the longest history,
sparse embedding gradients with SparseAdam beside Adam for the dense tensors).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 python/bench_train_torch.py WORKDIR THREADS STEPS

Reads WORKDIR/train-model.safetensors and WORKDIR/train-batch-K.bin (int32 targetItem,
targetCat, histItem, histCat, histLen, user, negItem, negCat, then float32 label) for the
K batches in WORKDIR/train.json; writes WORKDIR/torch-train.json: the first step's loss
(the cross-check) and the step times.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, read_safetensors  # noqa: E402
from dien_ref.fast import FastDien  # noqa: E402
from dien_ref.train import aux_loss, set_batch_stats  # noqa: E402


def read_batch(path, B, T):
    raw = np.fromfile(path, dtype="<i4")
    sizes = [B, B, B * T, B * T, B, B, B * T, B * T]
    parts = np.split(raw, np.cumsum(sizes))
    names = ["targetItem", "targetCat", "histItem", "histCat", "histLen", "user", "negItem", "negCat"]
    b = {n: torch.from_numpy(p.astype(np.int64)) for n, p in zip(names, parts[:8])}
    for n in ("histItem", "histCat", "negItem", "negCat"):
        b[n] = b[n].reshape(B, T)
    b["label"] = torch.from_numpy(parts[8].view("<f4").astype(np.float32))
    return b


def step_loss(fast, b):
    ref, c = fast.ref, fast.ref.c
    steps = int(b["histLen"].max())
    cut = {k: (v[:, :steps] if v.dim() == 2 else v) for k, v in b.items()}
    emb = ref.embedding
    ea = torch.cat([emb.item(cut["targetItem"]), emb.cat(cut["targetCat"])], dim=-1)
    e = torch.cat([emb.item(cut["histItem"]), emb.cat(cut["histCat"])], dim=-1)
    mask = torch.arange(steps).unsqueeze(0) < cut["histLen"].unsqueeze(1)
    s = (e * mask.unsqueeze(-1)).sum(dim=1)
    hs, _ = fast.gru(e)
    evo = ref.evolution
    a = ref.attention(ea, hs, mask)
    interest = fast._loop(hs, evo.weight_ih, evo.weight_hh, evo.bias_ih, evo.bias_hh, a, mask, c["evolution"])[:, -1]
    parts = ([emb.user(cut["user"])] if c["userVocab"] > 0 else []) + [ea, s, ea * s, interest]
    logits = ref.mlp(torch.cat(parts, dim=-1))
    bce = F.binary_cross_entropy_with_logits(logits, cut["label"])
    ref.last_hs, ref.last_mask = hs, mask
    return bce + c["auxAlpha"] * aux_loss(ref, cut)


def main():
    work, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(threads)
    config, tensors = read_safetensors(os.path.join(work, "train-model.safetensors"))
    ref = DienRef(config)
    ref.load_state_dict(tensors)
    fast = FastDien(ref)
    set_batch_stats(ref, True)
    tables = []
    for name in ("item", "cat", "user"):
        if hasattr(ref.embedding, name):
            getattr(ref.embedding, name).sparse = True
            tables.append(getattr(ref.embedding, name).weight)
    table_ids = {id(p) for p in tables}
    dense = [p for n, p in fast.named_parameters() if id(p) not in table_ids and not n.startswith("ref.extractor.")]
    opt_dense = torch.optim.Adam(dense, lr=1e-3)
    opt_sparse = torch.optim.SparseAdam(tables, lr=1e-3)
    plan = json.load(open(os.path.join(work, "train.json")))
    B, T = plan["batch"], config["maxLen"]
    batches = [read_batch(os.path.join(work, f"train-batch-{k}.bin"), B, T) for k in range(plan["count"])]
    with torch.no_grad():
        first = step_loss(fast, batches[0]).item()
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        opt_dense.zero_grad()
        opt_sparse.zero_grad()
        loss = step_loss(fast, batches[i % len(batches)])
        loss.backward()
        opt_dense.step()
        opt_sparse.step()
        if i >= 3:
            times.append((time.perf_counter() - t0) * 1e3)
    settings = (f"torch {torch.__version__}, torch.set_num_threads({threads}), eager, fused nn.GRU extractor, "
                "sparse embeddings + SparseAdam, Adam for dense tensors, float32")
    json.dump({"firstLoss": first, "timesMs": times, "settings": settings}, open(os.path.join(work, "torch-train.json"), "w"))


if __name__ == "__main__":
    main()
