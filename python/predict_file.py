"""Scores a batch with the PyTorch reference (float64, inference mode) from a weight file:
the check that a model trained by the engine loads here with the same predictions.

    /usr/bin/python3 python/predict_file.py MODEL.safetensors BATCH.json OUT.json

BATCH.json holds targetItem, targetCat, histItem, histCat, histLen (and user) as lists;
OUT.json receives {"probabilities": [...]}.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dien_ref import DienRef, read_safetensors  # noqa: E402


def main():
    model_path, batch_path, out_path = sys.argv[1:4]
    config, tensors = read_safetensors(model_path)
    ref = DienRef(config)
    ref.load_state_dict(tensors)
    ref = ref.double()
    b = json.load(open(batch_path))
    T = config["maxLen"]
    t = {k: torch.tensor(v, dtype=torch.int64) for k, v in b.items()}
    for k in ("histItem", "histCat"):
        t[k] = t[k].reshape(-1, T)
    with torch.no_grad():
        logits = ref(t["targetItem"], t["targetCat"], t["histItem"], t["histCat"], t["histLen"], t.get("user"))
    json.dump({"probabilities": torch.sigmoid(logits).tolist()}, open(out_path, "w"))


if __name__ == "__main__":
    main()
