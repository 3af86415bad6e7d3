/**
 * `npm run bench:peers`: the same DIEN (paper defaults) on the same inputs in this
 * engine, onnxruntime-node and PyTorch (when Debian's python3-torch is installed),
 * outputs cross-checked before any timing, then median samples/s and latency, ratios,
 * peak RSS and a roofline line. Results go to bench/results/ as JSON, Markdown and SVG.
 *   node dist/bench/peers.js [--python /usr/bin/python3] [--quick]
 * dien runs once per ISA level this CPU runs (DIEN_ISA=<level>: that one alone), one block each.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { DienModel, paperDefaults, randomBatch, randomTrainBatch } from "../lib";
import { loadedIsaLevel } from "../lib/native";
import { flopsPerSample } from "./bench";
import { type MachineInfo, describeMachine, machineInfo } from "./machine";
import { benchTraining, trainFlops } from "./train";
import { type EngineResult, type PlanEntry, T } from "./peer-worker";

const ROOT = path.resolve(__dirname, "..", "..");
const RESULTS = path.join(ROOT, "bench", "results");
const WORK = path.join(RESULTS, "tmp");
const BATCHES = [1, 128, 1024];
type Engine = "dien" | "onnxruntime-node" | "pytorch";


function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, unset: string[] = []): void {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const name of unset) delete merged[name];
  const r = spawnSync(cmd, args, { stdio: "inherit", env: merged });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed with status ${r.status}`);
}

function hasTorch(python: string): boolean {
  return spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function relErr(a: Float32Array, ref: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (a[i]! - ref[i]!) ** 2;
    den += ref[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

interface Row {
  engine: Engine;
  /** dien's rows: the ISA level its engine ran at. */
  level?: string;
  batch: number;
  samplesPerSec: number;
  latencyMs: number;
  minMs: number;
  maxMs: number;
  gflops: number;
  fractionOfPeak: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { python: { type: "string" }, quick: { type: "boolean", default: false } } });
  const python = values.python ?? process.env.DIEN_PYTHON ?? "/usr/bin/python3";
  const quick = values.quick;
  mkdirSync(WORK, { recursive: true });

  // 1. Model and inputs, shared by every engine.
  const modelPath = path.join(WORK, "model.safetensors");
  const model = await DienModel.create(paperDefaults(), { seed: 1 });
  await model.save(modelPath);
  const config = model.config;
  model.dispose();
  const plan: PlanEntry[] = BATCHES.map((batch) => ({ batch, reps: quick ? 3 : batch === 1 ? 200 : batch === 128 ? 30 : 10 }));
  writeFileSync(path.join(WORK, "batches.json"), JSON.stringify(plan));
  const flops = new Map<number, number>();
  for (const { batch } of plan) {
    const b = randomBatch(config, batch, 1000 + batch);
    const parts = [b.targetItem, b.targetCat, b.histItem, b.histCat, b.histLen, b.user!];
    writeFileSync(path.join(WORK, `inputs-${batch}.bin`), Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
    flops.set(batch, Array.from(b.histLen).reduce((s, L) => s + flopsPerSample(config, L), 0));
  }

  // 2. Which peers can run: the ONNX file comes from the PyTorch reference.
  const torch = hasTorch(python);
  const active: Engine[] = ["dien"];
  const skipped: Record<string, string> = {};
  const onnxPath = path.join(WORK, "model.onnx");
  const weightsHash = createHash("sha256").update(readFileSync(modelPath)).digest("hex");
  const hashPath = `${onnxPath}.sha256`;
  if (torch) {
    if (!existsSync(onnxPath) || !existsSync(hashPath) || readFileSync(hashPath, "utf8") !== weightsHash) {
      console.log("exporting the PyTorch reference to ONNX (once per weight file; about 90 s)...");
      run(python, [path.join(ROOT, "python", "export_onnx.py"), modelPath, onnxPath]);
      writeFileSync(hashPath, weightsHash);
    }
    active.push("onnxruntime-node", "pytorch");
  } else {
    const why = `no PyTorch for ${python} (install Debian's python3-torch)`;
    skipped.pytorch = why;
    if (existsSync(onnxPath) && existsSync(hashPath) && readFileSync(hashPath, "utf8") === weightsHash) active.push("onnxruntime-node");
    else skipped["onnxruntime-node"] = `${why}: the ONNX file is exported from the PyTorch reference`;
  }
  for (const [engine, why] of Object.entries(skipped)) console.log(`skipping ${engine}: ${why}`);

  const worker = path.join(__dirname, "peer-worker.js");
  // PyTorch's best settings here: single-threaded OpenBLAS under two intra-op threads,
  // and OpenBLAS picking its own kernels (some machines pin OPENBLAS_CORETYPE for old builds).
  const torchEnv = { OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "2" };
  const torchUnset = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];
  const step = (engine: Engine, mode: "check" | "time", env: NodeJS.ProcessEnv = {}) => {
    if (engine === "pytorch") run(python, [path.join(ROOT, "python", "bench_torch.py"), WORK, "2", mode], torchEnv, torchUnset);
    else run(process.execPath, [worker, engine === "dien" ? "dien" : "ort", WORK, mode], env);
  };

  // 3. Cross-check outputs before any timing.
  const agreement: Record<string, Record<number, number>> = {};
  for (const engine of active) step(engine, "check");
  for (const engine of active.filter((e) => e !== "dien")) {
    const file = engine === "pytorch" ? "torch" : "ort";
    agreement[engine] = {};
    for (const { batch } of plan) {
      const err = relErr(readF32(path.join(WORK, `${file}-${batch}.f32`)), readF32(path.join(WORK, `dien-${batch}.f32`)));
      agreement[engine]![batch] = err;
      if (!(err <= 1e-4)) throw new Error(`outputs disagree: ${engine} vs dien at B=${batch}: relative error ${err}`);
    }
  }
  console.log("outputs agree:", JSON.stringify(agreement));

  // 4. Time each engine in its own process, dien once per ISA level this CPU runs (or
  // DIEN_ISA's alone); measure each level's FMA peak (its vector width, its FMA).
  const { level: loaded, available } = loadedIsaLevel();
  const levels = process.env.DIEN_ISA && process.env.DIEN_ISA !== "auto" ? [loaded] : available;
  const timings: Partial<Record<Engine, EngineResult>> = {};
  const dienTimings: Record<string, EngineResult> = {};
  const peaks: Record<string, number> = {};
  for (const engine of active) {
    if (engine === "dien") {
      // The peak is what the hardware can do, so the best of several readings taken
      // around the level's timing: one reading taken while the host is slowed would
      // inflate every fraction of it (over 100 % on a busy host).
      const readPeak = (level: string) => {
        const out = execFileSync(path.join(ROOT, "build", "dien_isa_run"), [level, path.join(ROOT, "build", "dien_bench"), "--peak", "1", "--batches", "1", "--reps", "3"], { encoding: "utf8" });
        peaks[level] = Math.max(peaks[level] ?? 0, Number(/measured fp32 FMA peak: ([\d.]+)/.exec(out)?.[1]));
      };
      for (const level of levels) {
        readPeak(level);
        step("dien", "time", { DIEN_ISA: level });
        dienTimings[level] = JSON.parse(readFileSync(path.join(WORK, "dien.json"), "utf8")) as EngineResult;
        readPeak(level);
        readPeak(level);
      }
      timings.dien = dienTimings[levels[0]!];
      continue;
    }
    step(engine, "time");
    timings[engine] = JSON.parse(readFileSync(path.join(WORK, `${engine === "pytorch" ? "torch" : "ort"}.json`), "utf8")) as EngineResult;
  }
  const peak = Math.max(...Object.values(peaks)); // the machine's: its best level's

  const rows: Row[] = [];
  const addRows = (engine: Engine, result: EngineResult, level: string | undefined, levelPeak: number) => {
    for (const r of result.results) {
      const med = median(r.timesMs);
      const gflops = flops.get(r.batch)! / med / 1e6;
      rows.push({ engine, level, batch: r.batch, samplesPerSec: (r.batch / med) * 1000, latencyMs: med, minMs: Math.min(...r.timesMs), maxMs: Math.max(...r.timesMs), gflops, fractionOfPeak: gflops / levelPeak });
    }
  };
  for (const level of levels) addRows("dien", dienTimings[level]!, level, peaks[level]!);
  for (const engine of active.filter((e) => e !== "dien")) addRows(engine, timings[engine]!, undefined, peak);
  const ratio = (peer: Engine, batch: number, level = levels[0]) => {
    const a = rows.find((r) => r.engine === "dien" && r.level === level && r.batch === batch);
    const b = rows.find((r) => r.engine === peer && r.batch === batch);
    return a && b ? b.latencyMs / a.latencyMs : undefined;
  };
  const meanLen = (T + 1) / 2;
  const report = {
    date: new Date().toISOString(),
    commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim() || "unknown",
    machine: { ...machineInfo(), fmaPeakGflops: peak, levelPeaksGflops: peaks },
    workload: "dien (augru, mlp attention [80, 40], dice MLP [200, 80]), E=36 H=36 T=100, lengths uniform in 1..100, vocab 100k/1k/100k",
    flopsPerSampleAtMeanLength: flopsPerSample(config, meanLen),
    settings: Object.fromEntries(active.map((e) => [e, timings[e]!.settings])),
    peakRssMb: Object.fromEntries(active.map((e) => [e, Math.round(timings[e]!.peakRssMb)])),
    agreement,
    skipped,
    rows,
    ratios: Object.fromEntries(active.filter((e) => e !== "dien").map((e) => [e, Object.fromEntries(BATCHES.map((b) => [b, ratio(e, b)]))])),
    /** Per ISA level: dien's speed-up over each peer at each batch size. */
    levelRatios: Object.fromEntries(levels.map((l) => [l, Object.fromEntries(active.filter((e) => e !== "dien").map((e) => [e, Object.fromEntries(BATCHES.map((b) => [b, ratio(e, b, l)]))]))])),
  };
  const training = await trainingPeers(python, torch, quick, peak, torchEnv, torchUnset);
  writeFileSync(path.join(RESULTS, "peers.json"), JSON.stringify({ ...report, training }, null, 2) + "\n");
  const md = markdown(report) + trainingMarkdown(training);
  writeFileSync(path.join(RESULTS, "peers.md"), md);
  writeFileSync(path.join(RESULTS, "peers.svg"), chart(rows.filter((r) => r.engine !== "dien" || r.level === levels[0]), active));
  console.log(md);
}

interface TrainingReport {
  batch: number;
  /** Matmul FLOPs per sample at the mean length (bench/train.ts). */
  flops: { forward: number; backward: number; recompute: number };
  dien: { samplesPerSec: number; medianMs: number; gflops: number; fractionOfPeak: number; firstLoss: number };
  pytorch?: { samplesPerSec: number; medianMs: number; firstLoss: number; settings: string };
  speedup?: number;
  skipped?: string;
}

/** One Adam step at paper defaults, B = 128, aux on: this engine and PyTorch on the same model and batches. */
async function trainingPeers(python: string, torch: boolean, quick: boolean, peak: number, env: NodeJS.ProcessEnv, unset: string[]): Promise<TrainingReport> {
  const B = 128;
  const count = 4;
  const steps = quick ? 4 : 20;
  // benchTraining draws the same model (seed 1) and batches (seeds 500..503) as written here.
  const model = await DienModel.create(paperDefaults(), { seed: 1 });
  await model.save(path.join(WORK, "train-model.safetensors"));
  const batches = Array.from({ length: count }, (_, i) => randomTrainBatch(model.config, B, 500 + i));
  batches.forEach((b, k) => {
    const ints = [b.targetItem, b.targetCat, b.histItem, b.histCat, b.histLen, b.user!, b.negItem!, b.negCat!];
    const bufs = [...ints, b.label].map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    writeFileSync(path.join(WORK, `train-batch-${k}.bin`), Buffer.concat(bufs));
  });
  writeFileSync(path.join(WORK, "train.json"), JSON.stringify({ batch: B, count }));
  const firstLoss = (await model.lossAndGradients(batches[0]!)).loss;
  const flops = trainFlops(model.config, (T + 1) / 2);
  model.dispose();
  const ours = await benchTraining({ batch: B, steps, threads: 2 });
  const report: TrainingReport = { batch: B, flops, dien: { ...ours, fractionOfPeak: ours.gflops / peak, firstLoss } };
  if (!torch) return { ...report, skipped: `no PyTorch for ${python}` };
  run(python, [path.join(ROOT, "python", "bench_train_torch.py"), WORK, "2", String(steps)], env, unset);
  const t = JSON.parse(readFileSync(path.join(WORK, "torch-train.json"), "utf8")) as { firstLoss: number; timesMs: number[]; settings: string };
  if (!(Math.abs(t.firstLoss - firstLoss) <= 1e-4 * Math.abs(firstLoss)))
    throw new Error(`training losses disagree: PyTorch ${t.firstLoss} vs dien ${firstLoss}`);
  const med = median(t.timesMs);
  return { ...report, pytorch: { samplesPerSec: (B / med) * 1000, medianMs: med, firstLoss: t.firstLoss, settings: t.settings }, speedup: med / ours.medianMs };
}

function trainingMarkdown(t: TrainingReport): string {
  const f = t.flops;
  const lines = [
    "",
    `## Training: one Adam step, B = ${t.batch}, aux loss on, lengths uniform in 1..${T}`,
    "",
    `Matmul FLOPs per sample at the mean length: forward ${(f.forward / 1e6).toFixed(2)} M, backward ${(f.backward / 1e6).toFixed(2)} M (dien also recomputes the sequence forward, ${(f.recompute / 1e6).toFixed(2)} M, rather than keeping every sample's activations).`,
    "",
    "| engine | samples/s | step ms (median) | useful GFLOP/s | of FMA peak | first-step loss | dien speed-up |",
    "|---|---:|---:|---:|---:|---:|---:|",
    `| dien | ${Math.round(t.dien.samplesPerSec).toLocaleString("en-US")} | ${t.dien.medianMs.toFixed(2)} | ${t.dien.gflops.toFixed(1)} | ${(100 * t.dien.fractionOfPeak).toFixed(1)}% | ${t.dien.firstLoss.toFixed(6)} | |`,
  ];
  if (t.pytorch)
    lines.push(`| pytorch | ${Math.round(t.pytorch.samplesPerSec).toLocaleString("en-US")} | ${t.pytorch.medianMs.toFixed(2)} | | | ${t.pytorch.firstLoss.toFixed(6)} | ${t.speedup!.toFixed(1)}x |`, "", `PyTorch: ${t.pytorch.settings}.`);
  else lines.push("", `PyTorch skipped: ${t.skipped}.`);
  return lines.join("\n") + "\n";
}

function markdown(r: {
  date: string; commit: string; machine: MachineInfo & { fmaPeakGflops: number; levelPeaksGflops: Record<string, number> }; workload: string; flopsPerSampleAtMeanLength: number;
  settings: Record<string, string>; peakRssMb: Record<string, number>; agreement: Record<string, Record<number, number>>; skipped: Record<string, string>;
  rows: Row[]; ratios: Record<string, Record<number, number | undefined>>;
  levelRatios: Record<string, Record<string, Record<number, number | undefined>>>;
}): string {
  const lines = [
    `# Peer benchmark (${r.date.slice(0, 10)}, commit ${r.commit})`,
    "",
    `Machine: ${describeMachine(r.machine)}, measured fp32 FMA peak ${r.machine.fmaPeakGflops.toFixed(1)} GFLOP/s (each level's peak: the best of three readings around its timing).`,
    `Workload: ${r.workload}; ${(r.flopsPerSampleAtMeanLength / 1e6).toFixed(2)} MFLOP per sample at the mean length (docs/performance.md count).`,
    "",
    "| engine | batch | samples/s | latency ms (median) | min-max ms | GFLOP/s | of FMA peak | dien speed-up |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of r.rows) {
    const ratio = row.engine === "dien" ? "" : `${r.ratios[row.engine]?.[row.batch]?.toFixed(1)}x`;
    lines.push(`| ${row.engine}${row.level ? ` (${row.level})` : ""} | ${row.batch} | ${Math.round(row.samplesPerSec).toLocaleString("en-US")} | ${row.latencyMs.toFixed(3)} | ${row.minMs.toFixed(3)}-${row.maxMs.toFixed(3)} | ${row.gflops.toFixed(1)} | ${(100 * row.fractionOfPeak).toFixed(1)}% | ${ratio} |`);
  }
  // One block per ISA level: its engine against the peers (DIEN_ISA=<level> runs one).
  for (const [level, byPeer] of Object.entries(r.levelRatios)) {
    const peakOf = r.machine.levelPeaksGflops[level]!;
    lines.push("", `### ISA level ${level} (FMA peak ${peakOf.toFixed(1)} GFLOP/s)`, "", "| batch | dien samples/s | of this level's peak | " + Object.keys(byPeer).map((e) => `vs ${e}`).join(" | ") + " |", "|---:|---:|---:|" + Object.keys(byPeer).map(() => "---:|").join(""));
    for (const b of BATCHES) {
      const row = r.rows.find((x) => x.engine === "dien" && x.level === level && x.batch === b);
      if (!row) continue;
      lines.push(`| ${b} | ${Math.round(row.samplesPerSec).toLocaleString("en-US")} | ${(100 * row.fractionOfPeak).toFixed(1)}% | ` + Object.values(byPeer).map((x) => (x[b] === undefined ? "" : `${x[b]!.toFixed(1)}x`)).join(" | ") + " |");
    }
  }
  lines.push("", "Peak RSS (each engine in its own process): " + Object.entries(r.peakRssMb).map(([e, mb]) => `${e} ${mb} MB`).join(", ") + ".");
  lines.push("", "Outputs cross-checked before timing (norm-wise relative error of probabilities against dien): " +
    Object.entries(r.agreement).map(([e, errs]) => `${e} ${Object.entries(errs).map(([b, x]) => `B=${b} ${x.toExponential(1)}`).join(", ")}`).join("; ") + ".");
  lines.push("", "Settings:", ...Object.entries(r.settings).map(([e, s]) => `- ${e}: ${s}`));
  for (const [e, why] of Object.entries(r.skipped)) lines.push(`- ${e}: skipped (${why})`);
  return lines.join("\n") + "\n";
}

function chart(rows: Row[], engines: Engine[]): string {
  const colors: Record<Engine, string> = { dien: "#1f77b4", "onnxruntime-node": "#ff7f0e", pytorch: "#2ca02c" };
  const W = 640, H = 360, left = 70, bottom = 50, top = 40;
  const maxV = Math.max(...rows.map((r) => r.samplesPerSec));
  const lo = 2, hi = Math.ceil(Math.log10(maxV));
  const y = (v: number) => H - bottom - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (H - bottom - top);
  const groupW = (W - left - 20) / BATCHES.length;
  const barW = (groupW - 30) / engines.length;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">DIEN inference, samples/s (log scale), paper defaults, 2 threads</text>`];
  for (let p = lo; p <= hi; p++) {
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(10 ** p)}" y2="${y(10 ** p)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(10 ** p) + 4}" text-anchor="end">${(10 ** p).toLocaleString("en-US")}</text>`);
  }
  BATCHES.forEach((b, gi) => {
    const x0 = left + gi * groupW + 15;
    engines.forEach((e, ei) => {
      const row = rows.find((r) => r.engine === e && r.batch === b);
      if (!row) return;
      const x = x0 + ei * barW;
      out.push(`<rect x="${x}" y="${y(row.samplesPerSec)}" width="${barW - 4}" height="${H - bottom - y(row.samplesPerSec)}" fill="${colors[e]}"/>`);
      out.push(`<text x="${x + (barW - 4) / 2}" y="${y(row.samplesPerSec) - 4}" text-anchor="middle" font-size="10">${Math.round(row.samplesPerSec).toLocaleString("en-US")}</text>`);
    });
    out.push(`<text x="${x0 + (groupW - 30) / 2}" y="${H - bottom + 18}" text-anchor="middle">B = ${b}</text>`);
  });
  engines.forEach((e, i) => {
    out.push(`<rect x="${left + i * 170}" y="${H - 18}" width="12" height="12" fill="${colors[e]}"/><text x="${left + i * 170 + 16}" y="${H - 8}">${e}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
