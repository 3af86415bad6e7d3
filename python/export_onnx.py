"""Exports the PyTorch reference, with the weights of a dien safetensors file, to ONNX.

    /usr/bin/python3 python/export_onnx.py model.safetensors model.onnx

The graph is FastDien (dien_ref/fast.py): the extractor becomes ONNX's fused GRU
operator, the evolution loop is unrolled over T (fixed), input projections are hoisted.
Inputs are int32 (cast to int64 inside the graph), named as docs/model.md §2, with a
dynamic batch axis; the output is `logit` [B].
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, read_safetensors  # noqa: E402
from dien_ref.fast import FastDien  # noqa: E402


class Int32Inputs(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, target_item, target_cat, hist_item, hist_cat, hist_len, user):
        return self.model(target_item.long(), target_cat.long(), hist_item.long(), hist_cat.long(), hist_len.long(), user.long())


def load(path):
    config, tensors = read_safetensors(path)
    model = DienRef(config)
    model.load_state_dict(tensors, strict=True)
    return config, FastDien(model.eval()).eval()


def main():
    src, dst = sys.argv[1], sys.argv[2]
    config, model = load(src)
    if config["userVocab"] == 0:
        raise SystemExit("export_onnx: the benchmark model has a user field")
    T, B = config["maxLen"], 2
    args = (
        torch.zeros(B, dtype=torch.int32), torch.zeros(B, dtype=torch.int32),
        torch.zeros(B, T, dtype=torch.int32), torch.zeros(B, T, dtype=torch.int32),
        torch.full((B,), T, dtype=torch.int32), torch.zeros(B, dtype=torch.int32),
    )
    names = ["targetItem", "targetCat", "histItem", "histCat", "histLen", "user"]
    with torch.no_grad():
        torch.onnx.export(
            Int32Inputs(model), args, dst, input_names=names, output_names=["logit"],
            dynamic_axes={**{n: {0: "batch"} for n in names}, "logit": {0: "batch"}}, opset_version=15,
        )
    print(f"export_onnx: wrote {dst} ({os.path.getsize(dst) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
