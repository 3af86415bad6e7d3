// Training on PyTorch's distributed engine (python/train.py under torchrun, two processes,
// gloo) writes a weight file with vocabularies that this engine serves unchanged: the same
// MovieLens test set scores the same AUC here as there. Needs Debian's python3-torch and
// ../shared/data; skips with a message without them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel, loadMovieLens } from "../lib";
import { evaluate } from "../lib/cli/pipeline";

const PYTHON = process.env.DIEN_PYTHON ?? "/usr/bin/python3";
const TORCHRUN = process.env.DIEN_TORCHRUN ?? "/usr/bin/torchrun";
const MOVIELENS = path.join(__dirname, "..", "..", "shared", "data", "ml-latest-small");
const ready = existsSync(MOVIELENS) && existsSync(TORCHRUN) && spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
if (!ready) console.warn(`scaling: skipped (needs ${TORCHRUN} from python3-torch and ${MOVIELENS})`);

describe.skipIf(!ready)("python/train.py under torchrun", () => {
  it("two gloo processes train a model that DienModel.load serves with the same test AUC", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-ddp-"));
    const out = path.join(dir, "ddp.safetensors");
    // Python 3.11 breaks torchrun's default redirects (IntFlag iteration); an explicit map works.
    const r = spawnSync(TORCHRUN, ["--standalone", "--nproc_per_node", "2", "--redirects", "0:1,1:1", "--tee", "0:1,1:1",
      path.join(__dirname, "..", "python", "train.py"), "--format", "movielens", "--split", "last", "--train", MOVIELENS,
      "--model", "din", "--epochs", "1", "--out", out], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr.slice(-2000)).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.includes('"processes"'))!;
    const py = JSON.parse(line.slice(line.indexOf("{"))) as { processes: number; test: { auc: number; n: number } };
    expect(py.processes).toBe(2);
    using model = await DienModel.load(out);
    expect(model.vocab).toBeDefined();
    const { test } = loadMovieLens(MOVIELENS, { split: "last", seed: 1 });
    const ours = await evaluate(model, test);
    expect(ours.n).toBe(py.test.n);
    expect(Math.abs(ours.auc - py.test.auc)).toBeLessThanOrEqual(1e-4);
  }, 300_000);
});
