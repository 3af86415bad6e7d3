"""The PyTorch peer as a performance-minded PyTorch user would write it: same
parameters and maths as DienRef, but the extractor as one fused nn.GRU call
(reset-after), every input projection hoisted out of the time loop, and the loop
cut at the batch's longest history in eager mode. Used by the peer benchmark and the
ONNX export (where nn.GRU becomes ONNX's fused GRU operator). Models without a GRU
fall back to DienRef.forward.
"""
import torch
from torch import nn

from .model import GRU_MODELS, gates_from_projection, mix_state, zero_state


class FastDien(nn.Module):
    def __init__(self, ref):
        super().__init__()
        self.ref = ref
        c = ref.c
        self.fused = c["model"] in GRU_MODELS and c["gruCell"] == "reset-after"
        if self.fused:
            E, H = c["dItem"] + c["dCat"], c["hidden"]
            self.gru = nn.GRU(E, H, batch_first=True)
            with torch.no_grad():
                for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                    getattr(self.gru, name).copy_(getattr(ref.extractor, name))

    def forward(self, target_item, target_cat, hist_item, hist_cat, hist_len, user=None, steps=None):
        ref, c = self.ref, self.ref.c
        if c["model"] not in GRU_MODELS:
            return ref(target_item, target_cat, hist_item, hist_cat, hist_len, user)
        H = c["hidden"]
        if steps is not None:  # eager: no step past the longest history
            hist_item, hist_cat = hist_item[:, :steps], hist_cat[:, :steps]
        T = hist_item.shape[1]
        emb = ref.embedding
        ea = torch.cat([emb.item(target_item), emb.cat(target_cat)], dim=-1)
        e = torch.cat([emb.item(hist_item), emb.cat(hist_cat)], dim=-1)
        mask = torch.arange(T, device=hist_len.device).unsqueeze(0) < hist_len.unsqueeze(1)
        s = (e * mask.unsqueeze(-1)).sum(dim=1)
        if self.fused:
            hs, _ = self.gru(e)  # causal: h_t for t < L does not see the padding
        else:
            hs = self._loop(e, ref.extractor.weight_ih_l0, ref.extractor.weight_hh_l0, ref.extractor.bias_ih_l0,
                            ref.extractor.bias_hh_l0, None, mask, "gru")
        evo = ref.evolution
        gates = (evo.weight_ih, evo.weight_hh, evo.bias_ih, evo.bias_hh)
        if c["evolution"] == "gru-att":
            outs = self._loop(hs, *gates, None, mask, "gru")
            a = ref.attention(ea, outs, mask)
            interest = (a.unsqueeze(-1) * outs).sum(dim=1)
        else:
            a = ref.attention(ea, hs, mask)
            interest = self._loop(hs, *gates, a, mask, c["evolution"])[:, -1]
        parts = ([emb.user(user)] if c["userVocab"] > 0 else []) + [ea, s, ea * s, interest]
        return ref.mlp(torch.cat(parts, dim=-1))

    def _loop(self, x, w_ih, w_hh, b_ih, b_hh, a, mask, kind):
        """All states [B, T, H]; a state stops changing once t >= L (masked)."""
        H = w_hh.shape[1]
        cell = self.ref.c["gruCell"]
        gi_all = x @ w_ih.T  # hoisted: one product for every step
        if kind == "aigru":
            gi_all = gi_all * a.unsqueeze(-1)
        gi_all = gi_all + b_ih
        h = zero_state(x[:, 0], H)
        out = []
        for t in range(x.shape[1]):
            z, n = gates_from_projection(gi_all[:, t], h, w_hh, b_hh, cell)
            at = a[:, t : t + 1] if a is not None else None
            h = torch.where(mask[:, t : t + 1], mix_state(kind, at, z, n, h), h)
            out.append(h)
        return torch.stack(out, dim=1)
