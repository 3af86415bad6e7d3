"""Minimal safetensors reader/writer (F32 only), so the reference needs no extra package."""
import json
import struct

import numpy as np
import torch


def write_safetensors(path, tensors, config, vocab=None):
    """tensors: name -> tensor; config: dict written as __metadata__.config; vocab: optional
    {"items": [...], "cats": [...], "users": [...]} written as __metadata__.vocab (docs/model.md §12)."""
    header = {"__metadata__": {"format": "dien", "version": "1", "config": json.dumps(config, separators=(",", ":"))}}
    if vocab is not None:
        header["__metadata__"]["vocab"] = json.dumps(vocab, separators=(",", ":"))
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Returns (config dict, {name: float32 tensor})."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    meta = header.pop("__metadata__")
    data = raw[8 + n :]
    tensors = {}
    for name, rec in header.items():
        if rec["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {rec['dtype']} is not F32")
        b, e = rec["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype="<f4").reshape(rec["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return json.loads(meta["config"]), tensors
