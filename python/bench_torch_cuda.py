"""The PyTorch CUDA peer of scripts/device-check.sh: FastDien (dien_ref/fast.py) in
eager mode on the GPU, end to end like dien_bench (int inputs from pinned host memory
to the device, probabilities back to the host), timed with CUDA events.

    python3 python/bench_torch_cuda.py model.safetensors [--batches 1,128,1024,8192]

Prints one `TORCHROW B=... samples_per_s=... latency_ms=...` line per batch size.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_onnx import load  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--batches", default="1,128,1024,8192")
    args = ap.parse_args()
    config, model = load(args.weights)
    model = model.cuda().eval()
    T = config["maxLen"]
    gen = torch.Generator().manual_seed(7)
    print(f"PyTorch {torch.__version__} on {torch.cuda.get_device_name(0)}, eager FastDien, float32, T={T}, H={config['hidden']}")
    for B in (int(b) for b in args.batches.split(",")):
        sets = []
        for _ in range(3):  # rotate inputs
            ri = lambda n, shape: torch.randint(0, n, shape, generator=gen, dtype=torch.int32).pin_memory()  # noqa: E731
            sets.append((ri(config["itemVocab"], (B,)), ri(config["catVocab"], (B,)), ri(config["itemVocab"], (B, T)),
                         ri(config["catVocab"], (B, T)), (1 + torch.randint(0, T, (B,), generator=gen, dtype=torch.int32)).pin_memory(),
                         ri(config["userVocab"], (B,))))

        def run(x):
            steps = int(x[4].max())
            dev = [t.cuda(non_blocking=True).long() for t in x]
            with torch.no_grad():
                return torch.sigmoid(model(*dev, steps=steps)).cpu()

        for i in range(3):
            run(sets[i % 3])
        reps = max(5, min(100, 20000 // B))
        times = []
        for i in range(reps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run(sets[i % 3])
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        times.sort()
        med = times[len(times) // 2]
        print(f"TORCHROW B={B} samples_per_s={B / med * 1e3:.0f} latency_ms={med:.4f}")


if __name__ == "__main__":
    main()
