"""A direct PyTorch transcription of docs/model.md §3-7 and §10 (inference).

Attribute names follow docs/model.md §12, so `state_dict()` is the weight file:
a module trained elsewhere with these names loads into the engine with no renaming.
Written for clarity, not speed: loops over time, masks by length.
"""
import torch
from torch import nn

FIXED_EVOLUTION = {"gru-att": "gru-att", "dien-aigru": "aigru", "dien-agru": "agru", "dien-augru": "augru"}
GRU_MODELS = {"gru-att", "dien-aigru", "dien-agru", "dien-augru", "dien"}


def default_config(**overrides):
    c = {
        "model": "dien", "itemVocab": 100, "catVocab": 10, "userVocab": 0, "dItem": 18, "dCat": 18, "dUser": 0,
        "hidden": 36, "maxLen": 100, "gruCell": "reset-after", "attention": "mlp", "attentionHidden": [80, 40],
        "evolution": "augru", "mlpHidden": [200, 80], "activation": "dice", "mlpBn": False, "auxNet": "mlp",
        "auxHidden": [100, 50], "auxAlpha": 1.0, "diceEps": 1e-8, "bnEps": 1e-5,
    }
    c.update(overrides)
    if c["model"] in FIXED_EVOLUTION and "evolution" not in overrides:
        c["evolution"] = FIXED_EVOLUTION[c["model"]]
    if c["model"] != "dien" and "auxAlpha" not in overrides:
        c["auxAlpha"] = 0.0
    return c


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.item = nn.Embedding(c["itemVocab"], c["dItem"])
        self.cat = nn.Embedding(c["catVocab"], c["dCat"])
        if c["userVocab"] > 0:
            self.user = nn.Embedding(c["userVocab"], c["dUser"])


class ExtractorGRU(nn.Module):
    """nn.GRU(E, H) parameter names; both cell forms of docs/model.md §4."""

    def __init__(self, inp, hidden):
        super().__init__()
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * hidden, inp))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * hidden, hidden))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * hidden))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * hidden))


class EvolutionGRU(nn.Module):
    """nn.GRUCell(H, H) parameter names."""

    def __init__(self, hidden):
        super().__init__()
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden, hidden))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden, hidden))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden))


def gru_gates(x, h, w_ih, w_hh, b_ih, b_hh, cell):
    """Returns (z, n): keep gate and candidate state."""
    return gates_from_projection(x @ w_ih.T + b_ih, h, w_hh, b_hh, cell)


def gates_from_projection(gi, h, w_hh, b_hh, cell):
    """(z, n) from the input projection gi = W_ih x + b_ih (docs/model.md §4, both forms)."""
    H = h.shape[-1]
    if cell == "reset-after":
        gh = h @ w_hh.T + b_hh
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = torch.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    else:
        ghrz = h @ w_hh[: 2 * H].T + b_hh[: 2 * H]
        r = torch.sigmoid(gi[:, :H] + ghrz[:, :H])
        z = torch.sigmoid(gi[:, H : 2 * H] + ghrz[:, H:])
        n = torch.tanh(gi[:, 2 * H :] + (r * h) @ w_hh[2 * H :].T + b_hh[2 * H :])
    return z, n


def mix_state(kind, a, z, n, h):
    """The new state of docs/model.md §6 (a: [B, 1] attention weight; unused by plain GRUs)."""
    if kind == "augru":
        u = a * (1 - z)
        return (1 - u) * h + u * n
    if kind == "augru-orig":
        zz = (1 - a) * z
        return zz * h + (1 - zz) * n
    if kind == "agru":
        return (1 - a) * h + a * n
    return (1 - z) * n + z * h


def zero_state(like, width):
    """[B, width] zeros with B taken from like at run time (so ONNX export keeps B dynamic)."""
    return torch.zeros_like(like[:, :1]).expand(-1, width)


def scorer_layers(inp, hidden):
    sizes = [inp] + list(hidden) + [1]
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


def run_scorer(layers, q, keys):
    """MLP over [q, k, q - k, q * k]; q [B, W], keys [B, T, W] -> scores [B, T]."""
    qe = q.unsqueeze(1).expand_as(keys)
    x = torch.cat([qe, keys, qe - keys, qe * keys], dim=-1)
    for i, layer in enumerate(layers):
        x = layer(x)
        if i + 1 < len(layers):
            x = torch.sigmoid(x)
    return x.squeeze(-1)


def masked_softmax(scores, mask):
    s = scores.masked_fill(~mask, float("-inf"))
    mx = s.max(dim=1, keepdim=True).values
    mx = torch.where(torch.isfinite(mx), mx, torch.zeros_like(mx))
    e = torch.exp(s - mx) * mask
    den = e.sum(dim=1, keepdim=True)
    return e / torch.where(den > 0, den, torch.ones_like(den))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, E = c["hidden"], c["dItem"] + c["dCat"]
        self.kind = c["attention"]
        if self.kind == "bilinear":
            self.W = nn.Parameter(torch.empty(H, E))
        else:
            self.query = nn.Linear(E, H)
            self.query_prelu = nn.PReLU(H, init=0.1)
            self.mlp = scorer_layers(4 * H, c["attentionHidden"])

    def forward(self, ea, keys, mask):
        if self.kind == "bilinear":
            scores = torch.einsum("bth,bh->bt", keys, ea @ self.W.T)
        else:
            scores = run_scorer(self.mlp, self.query_prelu(self.query(ea)), keys)
        return masked_softmax(scores, mask)


class Din(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.mlp = scorer_layers(4 * (c["dItem"] + c["dCat"]), c["attentionHidden"])


class BatchNorm(nn.Module):
    """Inference batch norm with exactly the tensors of docs/model.md (no num_batches_tracked)."""

    def __init__(self, width, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_var", torch.ones(width))

    batch_stats = False  # training mode of docs/model.md §7 (set by dien_ref.train)

    def forward(self, x):
        mean, var = self.running_mean, self.running_var
        if self.batch_stats:  # biased batch statistics, gradients through them
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            self.last_stats = (mean.detach(), var.detach())
        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias


class Dice(nn.Module):
    def __init__(self, width, eps):
        super().__init__()
        self.eps = eps
        self.alpha = nn.Parameter(torch.zeros(width))
        self.register_buffer("running_mean", torch.zeros(width))
        self.register_buffer("running_var", torch.ones(width))

    batch_stats = False

    def forward(self, x):
        mean, var = self.running_mean, self.running_var
        if self.batch_stats:
            mean, var = x.mean(dim=0), x.var(dim=0, unbiased=False)
            self.last_stats = (mean.detach(), var.detach())
        p = torch.sigmoid((x - mean) / torch.sqrt(var + self.eps))
        return p * x + (1 - p) * self.alpha * x


class Relu(nn.Module):
    def forward(self, x):
        return torch.relu(x)


class OutputMlp(nn.Module):
    def __init__(self, c, d_in):
        super().__init__()
        if c["mlpBn"]:
            self.bn = BatchNorm(d_in, c["bnEps"])
        sizes = [d_in] + list(c["mlpHidden"])
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        act = c["activation"]
        self.act = nn.ModuleList(
            Dice(w, c["diceEps"]) if act == "dice" else nn.PReLU(w, init=0.1) if act == "prelu" else Relu()
            for w in c["mlpHidden"]
        )
        self.out = nn.Linear(sizes[-1], 1)

    def forward(self, x):
        if hasattr(self, "bn"):
            x = self.bn(x)
        for layer, act in zip(self.layers, self.act):
            x = act(layer(x))
        return self.out(x).squeeze(-1)


class Aux(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = scorer_layers(c["hidden"] + c["dItem"] + c["dCat"], c["auxHidden"])


class Wide(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.item = nn.Embedding(c["itemVocab"], 1)
        self.cat = nn.Embedding(c["catVocab"], 1)
        self.cross = nn.Embedding(c["catVocab"], 1)
        if c["userVocab"] > 0:
            self.user = nn.Embedding(c["userVocab"], 1)


def interest_width(c):
    E = c["dItem"] + c["dCat"]
    m = c["model"]
    if m in ("base", "wide-deep"):
        return 0
    if m == "pnn":
        n = 5 if c["userVocab"] > 0 else 4
        return n * (n - 1) // 2
    if m == "din":
        return E
    return c["hidden"]


class DienRef(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        H = c["hidden"]
        self.embedding = Embeddings(c)
        if c["model"] in GRU_MODELS:
            self.extractor = ExtractorGRU(c["dItem"] + c["dCat"], H)
            self.evolution = EvolutionGRU(H)
            self.attention = Attention(c)
        if c["model"] == "din":
            self.din = Din(c)
        d_in = c["dUser"] + 3 * (c["dItem"] + c["dCat"]) + interest_width(c)
        self.mlp = OutputMlp(c, d_in)
        if c["model"] in GRU_MODELS and c["auxAlpha"] > 0 and c["auxNet"] == "mlp":
            self.aux = Aux(c)
        if c["model"] == "wide-deep":
            self.wide = Wide(c)

    def forward(self, target_item, target_cat, hist_item, hist_cat, hist_len, user=None):
        """Returns logits [B]. Inputs are int64 tensors shaped as docs/model.md §2."""
        c = self.c
        T = hist_item.shape[1]
        H = c["hidden"]
        emb = self.embedding
        ea = torch.cat([emb.item(target_item), emb.cat(target_cat)], dim=-1)
        e = torch.cat([emb.item(hist_item), emb.cat(hist_cat)], dim=-1)
        mask = torch.arange(T, device=hist_len.device).unsqueeze(0) < hist_len.unsqueeze(1)
        s = (e * mask.unsqueeze(-1)).sum(dim=1)
        parts = []
        if c["userVocab"] > 0:
            parts.append(emb.user(user))
        parts += [ea, s, ea * s]
        m = c["model"]
        if m in GRU_MODELS:
            ext, evo = self.extractor, self.evolution
            h = zero_state(ea, H)
            hs = []
            for t in range(T):
                z, n = gru_gates(e[:, t], h, ext.weight_ih_l0, ext.weight_hh_l0, ext.bias_ih_l0, ext.bias_hh_l0, c["gruCell"])
                h = torch.where(mask[:, t : t + 1], (1 - z) * n + z * h, h)
                hs.append(h)
            hs = torch.stack(hs, dim=1)
            self.last_hs, self.last_mask = hs, mask  # for the aux loss (dien_ref.train)
            gates = (evo.weight_ih, evo.weight_hh, evo.bias_ih, evo.bias_hh)
            g = zero_state(ea, H)
            if c["evolution"] == "gru-att":
                outs = []
                for t in range(T):
                    z, n = gru_gates(hs[:, t], g, *gates, c["gruCell"])
                    g = torch.where(mask[:, t : t + 1], (1 - z) * n + z * g, g)
                    outs.append(g)
                outs = torch.stack(outs, dim=1)
                a = self.attention(ea, outs, mask)
                interest = (a.unsqueeze(-1) * outs).sum(dim=1)
            else:
                a = self.attention(ea, hs, mask)
                for t in range(T):
                    at = a[:, t : t + 1]
                    x = hs[:, t] * at if c["evolution"] == "aigru" else hs[:, t]
                    z, n = gru_gates(x, g, *gates, c["gruCell"])
                    g = torch.where(mask[:, t : t + 1], mix_state(c["evolution"], at, z, n, g), g)
                interest = g
            parts.append(interest)
        elif m == "din":
            a = masked_softmax(run_scorer(self.din.mlp, ea, e), mask)
            parts.append((a.unsqueeze(-1) * e).sum(dim=1))
        elif m == "pnn":
            d = c["dItem"]
            fields = ([emb.user(user)] if c["userVocab"] > 0 else []) + [ea[:, :d], ea[:, d:], s[:, :d], s[:, d:]]
            prods = [(fields[i] * fields[j]).sum(-1) for i in range(len(fields)) for j in range(i + 1, len(fields))]
            parts.append(torch.stack(prods, dim=1))
        logit = self.mlp(torch.cat(parts, dim=-1))
        if m == "wide-deep":
            hits = ((hist_cat == target_cat.unsqueeze(1)) & mask).sum(dim=1).to(logit.dtype)
            w = self.wide
            logit = logit + w.item(target_item).squeeze(-1) + w.cat(target_cat).squeeze(-1) + w.cross(target_cat).squeeze(-1) * hits
            if c["userVocab"] > 0:
                logit = logit + w.user(user).squeeze(-1)
        return logit
