// A model trained here loads in the PyTorch reference (python/dien_ref) and predicts the
// same (docs/model.md §14). Needs Debian's python3-torch; skips with a message without it.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel, randomBatch, randomTrainBatch } from "../lib";
import { FIXTURES, relativeError } from "./helpers";

const PYTHON = process.env.DIEN_PYTHON ?? "/usr/bin/python3";
const ROOT = path.join(__dirname, "..");
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
if (!hasTorch) console.warn(`python-interop: skipped, no PyTorch for ${PYTHON} (apt-get install -y python3-torch)`);

describe.skipIf(!hasTorch)("trained models in the PyTorch reference", () => {
  it("predictions after training agree within 1e-5 (dice + bn, aux on)", async () => {
    using model = await DienModel.load(path.join(FIXTURES, "train", "curve.safetensors"));
    const trainer = model.trainer({ lr: 1e-2 });
    for (let s = 0; s < 40; s++) await trainer.step(randomTrainBatch(model.config, 32, 200 + s, 0));
    const dir = mkdtempSync(path.join(tmpdir(), "dien-interop-"));
    await model.save(path.join(dir, "trained.safetensors"));
    const probe = randomBatch(model.config, 50, 7, 0);
    const ours = await model.predict(probe);
    writeFileSync(path.join(dir, "batch.json"), JSON.stringify(Object.fromEntries(Object.entries(probe).map(([k, v]) => [k, Array.from(v as Int32Array)]))));
    const r = spawnSync(PYTHON, [path.join(ROOT, "python", "predict_file.py"), path.join(dir, "trained.safetensors"), path.join(dir, "batch.json"), path.join(dir, "out.json")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const theirs = (JSON.parse(readFileSync(path.join(dir, "out.json"), "utf8")) as { probabilities: number[] }).probabilities;
    expect(relativeError(ours, theirs)).toBeLessThanOrEqual(1e-5);
  }, 120_000);
});
