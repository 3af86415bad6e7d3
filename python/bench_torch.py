"""The PyTorch peer of `npm run bench:peers`: FastDien (dien_ref/fast.py) on the CPU.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 python/bench_torch.py WORKDIR THREADS check|time

Reads WORKDIR/model.safetensors and WORKDIR/inputs-B.bin (int32: targetItem, targetCat,
histItem, histCat, histLen, user) for each B in WORKDIR/batches.json. "check" writes the
probabilities to WORKDIR/torch-B.f32; "time" writes the timings to WORKDIR/torch.json.
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import load  # noqa: E402


def main():
    work, threads, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(threads)
    config, model = load(os.path.join(work, "model.safetensors"))
    T = config["maxLen"]
    plan = json.load(open(os.path.join(work, "batches.json")))
    results = []
    for entry in plan:
        B, reps = entry["batch"], entry["reps"]
        raw = np.fromfile(os.path.join(work, f"inputs-{B}.bin"), dtype="<i4")
        parts = np.split(raw, np.cumsum([B, B, B * T, B * T, B]))
        ti, tc, hi, hc, hl, us = (torch.from_numpy(p.astype(np.int64)) for p in parts)
        hi, hc = hi.reshape(B, T), hc.reshape(B, T)
        steps = int(hl.max())
        run = lambda: torch.sigmoid(model(ti, tc, hi, hc, hl, us, steps=steps))  # noqa: E731
        with torch.no_grad():
            if mode == "check":
                out = run()
                out.numpy().astype("<f4").tofile(os.path.join(work, f"torch-{B}.f32"))
                continue
            for _ in range(2):
                run()
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                run()
                times.append((time.perf_counter() - t0) * 1e3)
        results.append({"batch": B, "timesMs": times})
    if mode == "check":
        return
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    settings = f"torch {torch.__version__} (BLAS {blas}), torch.set_num_threads({threads}), OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, eager FastDien (fused nn.GRU extractor, hoisted projections, loop cut at the longest history), no_grad, float32"
    json.dump({"results": results, "peakRssMb": rss_mb, "settings": settings}, open(os.path.join(work, "torch.json"), "w"))


if __name__ == "__main__":
    main()
