"""Training of docs/model.md §7-9 in PyTorch: the training-mode loss (batch statistics in
Dice and batch norm, the aux loss over extractor states) and the lazy Adam the engine
documents (train/trainer.h), so that autograd and the engine can be compared."""
import torch
import torch.nn.functional as F

from .model import GRU_MODELS, BatchNorm, Dice


def set_batch_stats(ref, on):
    for m in ref.modules():
        if isinstance(m, (BatchNorm, Dice)):
            m.batch_stats = on


def needs_negatives(c):
    return c["model"] in GRU_MODELS and c["auxAlpha"] > 0


def aux_loss(ref, b):
    """docs/model.md §8: mean over pairs (h_t, e[t+1]), t + 1 < L, of the positive and negative BCE."""
    c, emb = ref.c, ref.embedding
    hs, mask = ref.last_hs, ref.last_mask
    e = torch.cat([emb.item(b["histItem"]), emb.cat(b["histCat"])], dim=-1)
    ne = torch.cat([emb.item(b["negItem"]), emb.cat(b["negCat"])], dim=-1)
    h, pos, neg = hs[:, :-1], e[:, 1:], ne[:, 1:]
    valid = mask[:, 1:]  # t + 1 < L
    def score(x):
        if c["auxNet"] == "dot":
            return (h * x).sum(-1)
        z = torch.cat([h, x], dim=-1)
        for i, layer in enumerate(ref.aux.layers):
            z = layer(z)
            if i + 1 < len(ref.aux.layers):
                z = torch.sigmoid(z)
        return z.squeeze(-1)
    per = F.softplus(-score(pos)) + F.softplus(score(neg))
    pairs = valid.sum()
    if pairs == 0:
        return per.sum() * 0
    return (per * valid).sum() / pairs


def training_loss(ref, b):
    """(loss, bce, aux, logits) of docs/model.md §9 in training mode."""
    set_batch_stats(ref, True)
    try:
        logits = ref(b["targetItem"], b["targetCat"], b["histItem"], b["histCat"], b["histLen"], b.get("user"))
    finally:
        set_batch_stats(ref, False)
    bce = F.binary_cross_entropy_with_logits(logits, b["label"].to(logits.dtype))
    aux = aux_loss(ref, b) if needs_negatives(ref.c) else bce * 0
    return bce + ref.c["auxAlpha"] * aux, bce, aux, logits


TABLES = {"embedding.item.weight", "embedding.cat.weight", "embedding.user.weight", "wide.item.weight",
          "wide.cat.weight", "wide.cross.weight", "wide.user.weight"}


def touched_rows(c, b):
    """Rows of every table a batch reads for values (the rows lazy Adam updates)."""
    L = b["histLen"]
    T = b["histItem"].shape[1]
    mask = torch.arange(T).unsqueeze(0) < L.unsqueeze(1)
    items = [b["histItem"][mask], b["targetItem"]]
    cats = [b["histCat"][mask], b["targetCat"]]
    if needs_negatives(c):
        neg_mask = mask & (torch.arange(T).unsqueeze(0) >= 1)
        items.append(b["negItem"][neg_mask])
        cats.append(b["negCat"][neg_mask])
    rows = {"embedding.item.weight": torch.cat(items).unique(), "embedding.cat.weight": torch.cat(cats).unique()}
    if c["userVocab"] > 0:
        rows["embedding.user.weight"] = b["user"].unique()
    if c["model"] == "wide-deep":
        rows["wide.item.weight"] = b["targetItem"].unique()
        rows["wide.cat.weight"] = b["targetCat"].unique()
        rows["wide.cross.weight"] = b["targetCat"].unique()
        if c["userVocab"] > 0:
            rows["wide.user.weight"] = b["user"].unique()
    return rows


class LazyAdam:
    """Adam of docs/model.md §9 as the engine runs it: dense tensors every step; table rows
    only when the batch reads them; bias correction with the global step."""

    def __init__(self, ref, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.ref, self.lr, self.b1, self.b2, self.eps, self.t = ref, lr, betas[0], betas[1], eps, 0
        self.state = {n: (torch.zeros_like(p), torch.zeros_like(p)) for n, p in ref.named_parameters()}

    @torch.no_grad()
    def step(self, rows):
        self.t += 1
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for name, p in self.ref.named_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            m, v = self.state[name]
            idx = rows.get(name) if name in TABLES else None
            if name in TABLES:
                if idx is None:
                    continue
                gm, mm, vm = g[idx], m[idx], v[idx]
            else:
                gm, mm, vm = g, m, v
            mm = self.b1 * mm + (1 - self.b1) * gm
            vm = self.b2 * vm + (1 - self.b2) * gm * gm
            upd = (self.lr / bc1) * mm / (vm.sqrt() / bc2 ** 0.5 + self.eps)
            if name in TABLES:
                m[idx], v[idx] = mm, vm
                p[idx] -= upd
            else:
                m.copy_(mm)
                v.copy_(vm)
                p -= upd

    def update_running_stats(self):
        update_running_stats(self.ref)


@torch.no_grad()
def update_running_stats(ref):
    """docs/model.md §7: r <- 0.99 r + 0.01 batch, from the last training forward's statistics."""
    for mod in ref.modules():
        if isinstance(mod, (BatchNorm, Dice)) and hasattr(mod, "last_stats"):
            mean, var = mod.last_stats
            mod.running_mean.mul_(0.99).add_(0.01 * mean)
            mod.running_var.mul_(0.99).add_(0.01 * var)
