// The `dien` command end to end, as a child process: train, evaluate, --json, bad lines,
// checkpoints and resume. Real-data runs read ../shared/data and skip without it.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const CLI = path.join(__dirname, "..", "dist", "lib", "cli", "dien.js");
const SHARED = path.join(__dirname, "..", "..", "shared", "data");
const BOOKS = path.join(SHARED, "format-fixtures", "amazon-books-dien", "local_test");
const MOVIELENS = path.join(SHARED, "ml-latest-small");
const hasShared = existsSync(BOOKS) && existsSync(MOVIELENS);
if (!hasShared) console.warn(`cli tests: ${SHARED} is absent; the real-data runs are skipped`);

function dien(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  return { status: r.status, stderr: r.stderr, json: last.startsWith("{") ? (JSON.parse(last) as Record<string, unknown>) : undefined };
}

describe("dien train / eval", () => {
  it.skipIf(!hasShared)("trains on the original DIEN format, prints the metrics table and one JSON line, and eval agrees", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-cli-"));
    const r = dien(["train", "--model", "dien", "--train", BOOKS, "--test", BOOKS, "--epochs", "2", "--batch", "8", "--json"], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("AUC");
    const test = r.json!.test as { auc: number; n: number };
    expect(test.n).toBe(38);
    expect(test.auc).toBeGreaterThan(0.5);
    expect(Object.keys(r.json!)).toEqual(["model", "config", "epochs", "lr", "lrDecay", "finalLr", "trainSeconds", "samplesPerSecond", "skippedLines", "test"]);
    const e = dien(["eval", "--weights", "model.safetensors", "--test", BOOKS, "--json"], dir);
    expect(e.status, e.stderr).toBe(0);
    expect(e.json!.test).toEqual(r.json!.test);
  });

  it.skipIf(!hasShared)("MovieLens last-step split: checkpoints every step and resumes to the same result", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-cli-"));
    const args = ["train", "--model", "din", "--format", "movielens", "--split", "last", "--train", MOVIELENS, "--epochs", "1", "--batch", "256", "--json"];
    const full = dien([...args, "--out", "full.safetensors"], dir);
    expect(full.status, full.stderr).toBe(0);
    const partial = dien([...args, "--out", "part.safetensors", "--checkpoint-every", "2", "--epochs", "1"], dir);
    expect(partial.status, partial.stderr).toBe(0);
    const resumed = dien([...args, "--out", "resumed.safetensors", "--resume", "part.safetensors.ckpt"], dir);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect((full.json!.test as { n: number }).n).toBeGreaterThan(50);
    expect(resumed.json!.test).toEqual(full.json!.test);
  });

  it.skipIf(!hasShared)("Ctrl-C stops after the current step and writes a checkpoint that resumes", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-cli-"));
    const args = [CLI, "train", "--model", "base", "--format", "movielens", "--split", "last", "--train", MOVIELENS, "--epochs", "2000", "--batch", "64", "--json"];
    const child = spawn(process.execPath, args, { cwd: dir });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise((resolve) => setTimeout(resolve, 4000));
    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("checkpoint written to model.safetensors.ckpt");
    expect(existsSync(path.join(dir, "model.safetensors.ckpt"))).toBe(true);
    const r = dien(["train", "--model", "base", "--format", "movielens", "--split", "last", "--train", MOVIELENS, "--epochs", "1", "--resume", "model.safetensors.ckpt", "--json"], dir);
    expect(r.status, r.stderr).toBe(0); // already past epoch 1: evaluates the resumed model
    expect((r.json!.test as { n: number }).n).toBeGreaterThan(50);
  }, 60_000);

  it("a malformed line fails naming file and line; --skip-bad-lines reports it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-cli-"));
    const file = path.join(dir, "train.txt");
    writeFileSync(file, "1\tu\ta\tx\tb\x02c\ty\x02x\n0\tu\td\ty\ta\tx\nbad line\n1\tv\ta\tx\tc\ty\n");
    const r = dien(["train", "--train", file, "--test", file, "--epochs", "1"], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:3: expected 6 tab-separated fields`);
    const s = dien(["train", "--train", file, "--test", file, "--epochs", "2", "--lr", "0.002", "--lr-decay", "0.5", "--skip-bad-lines", "--json"], dir);
    expect(s.status, s.stderr).toBe(0);
    expect([s.json!.lr, s.json!.lrDecay, s.json!.finalLr]).toEqual([0.002, 0.5, 0.0005]); // halved after each epoch
    expect(s.json!.skippedLines).toBe(2); // once in --train, once in --test
    expect(s.stderr).toContain("skipped 1 malformed training lines");
    expect(s.stderr).toContain("skipped 2 malformed lines in all");
    const bad = dien(["train", "--train", file, "--test", file, "--model", "dein"], dir);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("dein");
  });

  it.skipIf(!hasShared)("experiment writes the table, JSON and chart for the models asked", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-exp-"));
    const r = spawnSync(process.execPath, [CLI, "experiment", "--data", MOVIELENS, "--models", "base", "--seeds", "1", "--epochs", "1", "--out", dir], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(path.join(dir, "movielens.md"), "utf8");
    expect(md).toMatch(/\| base \| 0\.\d{4} ± 0\.0000 \|/);
    expect(readFileSync(path.join(dir, "movielens.svg"), "utf8")).toContain("<svg");
    const json = JSON.parse(readFileSync(path.join(dir, "movielens.json"), "utf8")) as { rows: { model: string; auc: number }[] };
    expect(json.rows[0]!.auc).toBeGreaterThan(0.85);
  }, 300_000);
});

describe("npm start", () => {
  it("learns: DIEN beats sum pooling on the embedded drifting-interest data", () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, "..", "dist", "lib", "cli", "start.js")], { encoding: "utf8", timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const auc = (name: string) => Number(new RegExp(`^${name}: test AUC ([\\d.]+)`, "m").exec(r.stdout)?.[1]);
    expect(auc("dien")).toBeGreaterThan(auc("base") + 0.1);
    expect(r.stdout).toContain("dien beats base");
  }, 300_000);
});
