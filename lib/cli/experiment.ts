/**
 * `dien experiment`: every zoo model with the same seeds, budget and data (MovieLens,
 * all-steps split, docs/model.md §13), the paper's Tables 2 and 4 on this data: test AUC
 * mean ± std over seeds, GAUC, log-loss and training samples/s, written as Markdown, JSON
 * and an SVG chart.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import type { ModelName } from "../config";
import type { Sample } from "../data/formats";
import { DienModel } from "../model";
import { type TestMetrics, evaluate, paperConfig, prepareData, trainLoop } from "./pipeline";

export interface ExperimentOptions {
  data: string;
  models: ModelName[];
  seeds: number;
  epochs: number;
  batch: number;
  lr: number;
  threads: number;
  maxLen: number;
  out: string;
  command: string;
}

export interface Run {
  model: ModelName;
  seed: number;
  test: TestMetrics;
  samplesPerSecond: number;
  trainSeconds: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0);

export async function runExperiment(o: ExperimentOptions): Promise<void> {
  const runs: Run[] = [];
  for (let seed = 1; seed <= o.seeds; seed++) {
    const data = await prepareData({ format: "movielens", train: o.data, split: "all", seed, skipBadLines: false, maxLen: o.maxLen });
    const vocab = data.vocab;
    const test = [...(data.test() as Iterable<Sample>)];
    for (const name of o.models) {
      process.stderr.write(`seed ${seed}, ${name}: training on ${data.train.n} samples... `);
      using model = await DienModel.create(paperConfig(name, vocab, o.maxLen), { seed, threads: o.threads, vocab });
      const trainer = model.trainer({ lr: o.lr });
      const t0 = performance.now();
      const r = await trainLoop(trainer, data.train, { epochs: o.epochs, batch: o.batch, seed });
      const seconds = (performance.now() - t0) / 1000;
      const metrics = await evaluate(model, test);
      runs.push({ model: name, seed, test: metrics, samplesPerSecond: r.samples / seconds, trainSeconds: seconds });
      process.stderr.write(`AUC ${metrics.auc.toFixed(4)} (${Math.round(r.samples / seconds)} samples/s)\n`);
    }
    writeReport(o, runs, seed); // after every seed: a long run leaves its table as it goes
  }
}

/** Writes movielens.{json,md,svg} from the runs so far (exported to re-render a saved run). */
export function writeReport(o: ExperimentOptions, runs: Run[], seedsDone: number): void {
  mkdirSync(o.out, { recursive: true });
  const rows = o.models.map((m) => {
    const rs = runs.filter((r) => r.model === m);
    const aucs = rs.map((r) => r.test.auc);
    // Paired with base on the same seed (same split): the split's own variance cancels.
    const gains = rs.flatMap((r) => {
      const b = runs.find((x) => x.model === "base" && x.seed === r.seed);
      return b ? [r.test.auc - b.test.auc] : [];
    });
    return {
      model: m, auc: mean(aucs), aucStd: std(aucs), gainOverBase: gains.length ? mean(gains) : NaN, gainStd: std(gains),
      gauc: mean(rs.map((r) => r.test.gauc)), logloss: mean(rs.map((r) => r.test.logloss)), samplesPerSecond: mean(rs.map((r) => r.samplesPerSecond)), n: rs[0]?.test.n ?? 0,
    };
  });
  const report = { date: new Date().toISOString(), command: o.command, machine: `${os.cpus()[0]?.model ?? "unknown"}, ${os.cpus().length} cores`, options: { ...o, command: undefined }, rows, runs };
  writeFileSync(path.join(o.out, "movielens.json"), JSON.stringify(report, null, 2) + "\n");
  const md = [
    `# The paper's table on MovieLens (ml-latest-small, all-steps split)`,
    "",
    `${report.date.slice(0, 10)}, ${report.machine}. Command:`,
    "",
    "```",
    o.command,
    "```",
    "",
    `Protocol: docs/model.md §13 all-steps split (users split 90/10 per seed; test users are unknown to the model, uid 0), paper defaults (d = 18/18/18, H = 36, T = ${o.maxLen}, mlp attention 80-40, MLP 200-80, dice), batch ${o.batch}, Adam ${o.lr} (lazy on embeddings), constant lr, ${o.epochs} epochs, seeds 1..${seedsDone}${seedsDone < o.seeds ? ` (of ${o.seeds}; the run is still going)` : ""} (split, initialisation, shuffles and negatives). About ${rows[0]?.n ?? 0} test samples per seed. Samples/s were measured while the run shared the machine with other work.`,
    "",
    "| model | test AUC (mean ± std) | AUC − base, same seed (mean ± std) | GAUC | log-loss | training samples/s |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${r.model} | ${r.auc.toFixed(4)} ± ${r.aucStd.toFixed(4)} | ${Number.isNaN(r.gainOverBase) ? "" : `${r.gainOverBase >= 0 ? "+" : ""}${r.gainOverBase.toFixed(4)} ± ${r.gainStd.toFixed(4)}`} | ${r.gauc.toFixed(4)} | ${r.logloss.toFixed(4)} | ${Math.round(r.samplesPerSecond).toLocaleString("en-US")} |`),
    "",
    "Each seed draws its own user split, so the spread of a model's AUC over seeds is mostly the split's; the paired column (the difference to base on the same seed, hence the same test users) is the comparison between models.",
    "",
    "![AUC by model](movielens.svg)",
    "",
  ].join("\n");
  writeFileSync(path.join(o.out, "movielens.md"), md);
  writeFileSync(path.join(o.out, "movielens.svg"), chart(rows));
  if (seedsDone === o.seeds) process.stdout.write(md);
}

function chart(rows: { model: string; auc: number; aucStd: number }[]): string {
  const W = 720, H = 360, left = 60, bottom = 70, top = 40;
  const lo = Math.floor(Math.min(...rows.map((r) => r.auc - r.aucStd)) * 100 - 1) / 100;
  const hi = Math.ceil(Math.max(...rows.map((r) => r.auc + r.aucStd)) * 100 + 0.5) / 100;
  const y = (v: number) => H - bottom - ((v - lo) / (hi - lo)) * (H - bottom - top);
  const bw = (W - left - 20) / rows.length;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Test AUC on MovieLens (all steps), mean ± std over seeds</text>`];
  for (let v = lo; v <= hi + 1e-9; v += 0.01) {
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
  }
  rows.forEach((r, i) => {
    const x = left + i * bw + 8;
    out.push(`<rect x="${x}" y="${y(r.auc)}" width="${bw - 16}" height="${H - bottom - y(r.auc)}" fill="${r.model.startsWith("dien") ? "#1f77b4" : "#aaa"}"/>`);
    out.push(`<line x1="${x + (bw - 16) / 2}" x2="${x + (bw - 16) / 2}" y1="${y(r.auc - r.aucStd)}" y2="${y(r.auc + r.aucStd)}" stroke="black"/>`);
    out.push(`<text x="${x + (bw - 16) / 2}" y="${y(r.auc + r.aucStd) - 4}" text-anchor="middle" font-size="10">${r.auc.toFixed(3)}</text>`);
    out.push(`<text x="${x + (bw - 16) / 2}" y="${H - bottom + 16}" text-anchor="middle" font-size="11">${r.model}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
