/**
 * The compression report: docs/compression.md, compression.json and compression.svg.
 * Rocket Launching (docs/model.md §11: booster H = 108, light net H = 32, λ = 0.03) and
 * the quantised light net on the embedded drifting-interests data (lib/data/drift.ts, as
 * `npm start` uses it) and on MovieLens ml-latest-small (all-steps split, docs/model.md
 * §13) when --data points at it. For each: test AUC of the booster, the light net trained
 * alone (same seed, data and budget), the rocket-launched light net and its fp16 and int8
 * files; then each file's size, resident memory, load time and CPU throughput, measured in
 * a fresh process per file (bench/compression-probe.ts). Last, the load time of mapped
 * files of growing size (sparse item tables up to 10 GiB).
 * Each dataset trains with its usual recipe: the embedded data as `npm start` (Adam 3e-3,
 * 4 epochs), MovieLens as `dien experiment` (Adam 1e-3, 2 epochs); batch 128.
 *   node dist/bench/compression.js [--data <ml-latest-small>] [--only drift|movielens|loads|apart] [--out docs] [--render]
 * Seeds: 5 on the embedded data (its runs vary more), 2 on MovieLens. --only reruns one
 * dataset (or the mapped-load table, or "apart": the weight files with their vocabularies
 * in a file of their own, which needs no training) and keeps the rest of compression.json.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { DienModel } from "../lib";
import { buildVocabularies } from "../lib/data/dataset";
import type { Sample } from "../lib/data/formats";
import { loadMovieLens } from "../lib/data/movielens";
import { type CompressOptions, rocketLaunch } from "../lib/cli/compress";
import { evaluate, paperConfig } from "../lib/cli/pipeline";
import { describeMachine, machineInfo } from "./machine";
import { type Provenance, driftSplit, mean, reportHeader, signed, std } from "./report";
import { namedVocabFile } from "../lib/vocab-file";
import { growItems } from "./sparse-file";

const NETS = ["booster", "light alone", "rocket light", "rocket light fp16", "rocket light int8"] as const;
type Net = (typeof NETS)[number];

interface Probe {
  loadMs: number;
  samplesPerSecond: number;
  latencyMs: number;
  rssGrowthMiB: number;
  weightBytes: number;
  /** `model.loadVocab()` (files with vocabularies; the first use of `model.vocab` in results made before it). */
  vocabMs?: number;
  /** The longest the event loop stalled during loadVocab(). */
  vocabLagMs?: number;
}

interface DatasetResult {
  name: string;
  epochs: number;
  lr: number;
  lrDecay?: number;
  seeds: number;
  trainSamples: number;
  testSamples: number;
  /** Test AUC per net, one entry per seed. */
  auc: Record<Net, number[]>;
  /** Of seed 1's files: the whole file, and its header (config and vocabularies as JSON text). */
  bytes: Record<Net, number>;
  headerBytes: Record<Net, number>;
  /** Seed 1's rocket light net saved with its vocabularies in a file of their own: both weight files and that file. */
  vocabApart?: VocabApart;
  probe: Record<Net, Probe>;
  trainSamplesPerSecond: { rocket: number[]; alone: number[] };
}

function probe(file: string): Probe {
  const out = execFileSync(process.execPath, [path.join(__dirname, "compression-probe.js"), file], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop()!) as Probe;
}

interface VocabApart {
  float32: number;
  int8: number;
  vocabFile: number;
}

/** The sizes of m's float32 and int8 weight files with the vocabularies in a file of their own (docs/model.md §12). */
async function vocabApart(m: DienModel, dir: string): Promise<VocabApart> {
  const sub = mkdtempSync(path.join(dir, "apart-"));
  const f32 = path.join(sub, "light.safetensors");
  const i8 = path.join(sub, "light.int8.safetensors");
  await m.save(f32, { vocab: "file" });
  await m.save(i8, { dtype: "int8", vocab: "file" });
  const vocabFile = namedVocabFile(i8)!;
  const out = { float32: statSync(f32).size, int8: statSync(i8).size, vocabFile: statSync(path.join(sub, vocabFile)).size };
  rmSync(sub, { recursive: true });
  return out;
}


interface Recipe {
  epochs: number;
  lr: number;
  /** The learning rate's factor after each epoch (absent: constant). */
  lrDecay?: number;
  seeds: number;
}

async function runDataset(name: string, slug: string, split: (seed: number) => { train: Sample[]; test: Sample[] }, recipe: Recipe, dir: string): Promise<DatasetResult> {
  const seeds = recipe.seeds;
  const res: DatasetResult = {
    name,
    ...recipe,
    trainSamples: 0,
    testSamples: 0,
    auc: Object.fromEntries(NETS.map((n) => [n, []])) as unknown as Record<Net, number[]>,
    bytes: {} as Record<Net, number>,
    headerBytes: {} as Record<Net, number>,
    probe: {} as Record<Net, Probe>,
    trainSamplesPerSecond: { rocket: [], alone: [] },
  };
  for (let seed = 1; seed <= seeds; seed++) {
    const { train, test } = split(seed);
    res.trainSamples = train.length;
    res.testSamples = test.length;
    const o: CompressOptions = { model: "dien", boosterHidden: 108, lightHidden: 32, lambda: 0.03, epochs: recipe.epochs, batch: 128, lr: recipe.lr, lrDecay: recipe.lrDecay, seed, threads: 0, maxLen: 100, baseline: true };
    process.stderr.write(`${name}, seed ${seed}: ${train.length} training samples, ${test.length} test samples\n`);
    const r = await rocketLaunch({ vocab: buildVocabularies(train), train, test: () => test }, o);
    res.trainSamplesPerSecond.rocket.push(r.samplesPerSecond.rocket);
    res.trainSamplesPerSecond.alone.push(r.samplesPerSecond.alone!);
    const files: Record<Net, string> = {
      booster: path.join(dir, `${slug}-booster.safetensors`),
      "light alone": path.join(dir, `${slug}-alone.safetensors`),
      "rocket light": path.join(dir, `${slug}-light.safetensors`),
      "rocket light fp16": path.join(dir, `${slug}-light.fp16.safetensors`),
      "rocket light int8": path.join(dir, `${slug}-light.int8.safetensors`),
    };
    await r.booster.save(files.booster);
    await r.alone!.save(files["light alone"]);
    await r.light.save(files["rocket light"]);
    await r.light.save(files["rocket light fp16"], { dtype: "fp16" });
    await r.light.save(files["rocket light int8"], { dtype: "int8" });
    if (seed === 1) res.vocabApart = await vocabApart(r.light, dir);
    for (const m of [r.booster, r.light, r.alone!]) m.dispose();
    for (const net of NETS) {
      using m = await DienModel.load(files[net]);
      const auc = (await evaluate(m, test)).auc;
      res.auc[net].push(auc);
      process.stderr.write(`  ${net.padEnd(18)} AUC ${auc.toFixed(4)}\n`);
    }
    if (seed === 1)
      for (const net of NETS) {
        res.bytes[net] = statSync(files[net]).size;
        res.headerBytes[net] = 8 + Number(readFileSync(files[net]).readBigUInt64LE(0));
        res.probe[net] = probe(files[net]);
      }
  }
  return res;
}

/** Load time of the rocket light net's file grown to more item rows (sparse). */
function loadTimes(small: string, dir: string): { items: number; bytes: number; loadMs: number; vocabBytes?: number; vocabMs?: number; vocabLagMs?: number }[] {
  const bytes = readFileSync(small);
  const out = [];
  // 14 million string ids are what a header cannot hold: they go to a vocabulary file.
  for (const [items, vocab] of [[100_000, false], [14_000_000, false], [140_000_000, false], [14_000_000, true]] as const) {
    const file = path.join(dir, `grown-${items}.safetensors`);
    const vocabBytes = growItems(bytes, items, file, { vocab });
    const runs = [0, 1, 2].map(() => probe(file)).sort((a, b) => a.loadMs - b.loadMs);
    const { vocabMs, vocabLagMs } = runs[1]!;
    out.push({ items, bytes: statSync(file).size, loadMs: runs[1]!.loadMs, ...(vocabBytes === undefined ? {} : { vocabBytes, vocabMs, vocabLagMs }) });
    for (const name of readdirSync(dir)) if (name.startsWith(path.basename(file))) rmSync(path.join(dir, name));
  }
  return out;
}

function fmtBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function markdown(results: DatasetResult[], loads: ReturnType<typeof loadTimes>, command: string, made: Provenance, loadsMade?: Provenance): string {
  const lines = [
    ...reportHeader("Compression: Rocket Launching and quantised weights", command, made),
    `Protocol: zoo model \`dien\` at the paper's defaults (d = 18/18/18, T = 100, mlp attention 80-40, MLP 200-80, Dice, aux net on) with H = 108 for the booster and H = 32 for the light net; Rocket Launching with λ = 0.03 (docs/model.md §11); batch 128, each dataset's recipe and seeds below (a seed sets the split, initialisation, shuffles and negatives). "light alone" is the H = 32 net trained by itself from the same initial weights with the same budget. fp16 and int8 are the rocket light net's quantised files (docs/model.md §12). AUC is the mean ± standard deviation over seeds, and the AUC difference is paired (the two nets of one seed see the same split); the other columns come from seed 1's files, each measured in a fresh process: resident memory growth over loading the addon and the file and scoring (the addon's code is the same few MiB for every net), CPU samples/s at B = 1024 and latency at B = 1 (medians, lengths uniform in 1..100 and 100), default threads.`,
    "",
  ];
  for (const r of results) {
    const sps = r.probe.booster.samplesPerSecond;
    // Paired per seed: net − other on the same split.
    const paired = (net: Net, other: Net) => r.auc[net].map((a, i) => a - r.auc[other][i]!);
    lines.push(`## ${r.name}`, "", `${r.trainSamples} training and ${r.testSamples} test samples (seed ${r.seeds}'s split); Adam ${r.lr}${r.lrDecay && r.lrDecay !== 1 ? ` (× ${r.lrDecay} after each epoch)` : ""}, ${r.epochs} epochs, seeds 1..${r.seeds}. With seed 1, joint training ran at ${Math.round(r.trainSamplesPerSecond.rocket[0]!)} samples/s, the light net alone at ${Math.round(r.trainSamplesPerSecond.alone[0]!)}.`, "");
    lines.push("| net | H | weights | test AUC | AUC − booster (paired) | file | RSS growth | samples/s (B = 1024) | × booster | B = 1 latency |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const net of NETS) {
      const p = r.probe[net];
      const dtype = net.endsWith("fp16") ? "fp16" : net.endsWith("int8") ? "int8" : "float32";
      const d = paired(net, "booster");
      lines.push(`| ${net} | ${net === "booster" ? 108 : 32} | ${dtype} | ${mean(r.auc[net]).toFixed(4)} ± ${std(r.auc[net]).toFixed(4)} | ${net === "booster" ? "" : `${signed(mean(d))} ± ${std(d).toFixed(4)}`} | ${fmtBytes(r.bytes[net])} | ${p.rssGrowthMiB.toFixed(1)} MiB | ${Math.round(p.samplesPerSecond).toLocaleString("en-US")} | ${(p.samplesPerSecond / sps).toFixed(2)} | ${p.latencyMs.toFixed(3)} ms |`);
    }
    const rlVsBooster = mean(paired("rocket light", "booster"));
    const rlVsAlone = paired("rocket light", "light alone");
    const int8 = paired("rocket light int8", "rocket light");
    const speed = r.probe["rocket light"].samplesPerSecond / sps;
    const ratio = r.bytes["rocket light"] / r.bytes["rocket light int8"];
    const h = r.headerBytes;
    const tensors = h ? (r.bytes["rocket light"] - h["rocket light"]) / (r.bytes["rocket light int8"] - h["rocket light int8"]) : undefined;
    const apart = r.vocabApart;
    const mark = (ok: boolean) => (ok ? "met" : "**missed**");
    lines.push(
      "",
      "Targets:",
      "",
      `- Rocket light within 0.005 AUC of the booster: ${signed(rlVsBooster)}, ${mark(rlVsBooster >= -0.005)}.`,
      `- Rocket light above the light net alone: ${signed(mean(rlVsAlone))} (per seed ${rlVsAlone.map(signed).join(", ")}), ${mark(mean(rlVsAlone) > 0)}.`,
      `- Rocket light at ≥ 2.5× the booster's throughput: ${speed.toFixed(2)}×, ${mark(speed >= 2.5)}.`,
      `- int8 within 0.001 AUC of its float model: ${signed(mean(int8))} (worst seed ${signed(int8.reduce((a, x) => (Math.abs(x) > Math.abs(a) ? x : a), 0))}), ${mark(int8.every((x) => Math.abs(x) <= 0.001))}; file ${ratio.toFixed(2)}× smaller, ${mark(ratio >= 3.5)}${tensors ? ` (its tensors ${tensors.toFixed(2)}× smaller; the header, ${fmtBytes(h["rocket light int8"])} of config and vocabularies as text, does not shrink)` : ""}${apart ? `; with the vocabularies in a file of their own beside each (\`save(path, { vocab: "file" })\`, docs/model.md §12) the weight files are ${(apart.float32 / apart.int8).toFixed(2)}× apart (${fmtBytes(apart.float32)} and ${fmtBytes(apart.int8)}), and the vocabulary file, ${fmtBytes(apart.vocabFile)} for either, comes on top` : ""}.`,
      "",
    );
  }
  const loadsWhen = loadsMade?.machine ? ` Measured ${loadsMade.date.slice(0, 10)}, ${describeMachine(loadsMade.machine)}, with \`node dist/bench/compression.js --only loads\`.` : "";
  lines.push("## Mapped loading", "", "The rocket light net's file with its item table grown to more rows (a sparse file: the new rows are a hole), loaded by `DienModel.load` (mapped) in a fresh process with the addon already loaded; median of 3. Every tensor but the tables is checked at load; table rows are checked where they are read, so the load does not touch the table. With string ids for every row, the vocabularies are in a file of their own beside the weight file (docs/model.md §12), which the load opens and checks the size of; `model.loadVocab()` reads it into a native index off the event loop (timed in the same process, after the load, with the longest stall of a 5 ms timer meanwhile)." + loadsWhen, "", "| item rows | file | vocabularies | load time |", "|---:|---:|---|---:|");
  for (const l of loads) lines.push(`| ${l.items.toLocaleString("en-US")} | ${fmtBytes(l.bytes)} | ${l.vocabBytes === undefined ? "none" : `a file of ${fmtBytes(l.vocabBytes)} (${l.vocabLagMs === undefined ? "first use of `model.vocab`" : "`loadVocab()`"}: ${((l.vocabMs ?? NaN) / 1000).toFixed(1)} s${l.vocabLagMs === undefined ? "" : `, event loop stalled at most ${l.vocabLagMs.toFixed(0)} ms`})`} | ${l.loadMs.toFixed(1)} ms |`);
  lines.push("", "![AUC against CPU throughput](compression.svg)", "");
  return lines.join("\n");
}

function chart(results: DatasetResult[]): string {
  const PW = 420, H = 340, left = 64, bottom = 56, top = 44, right = 16;
  const W = PW * results.length;
  const colors: Record<Net, string> = { booster: "#d62728", "light alone": "#7f7f7f", "rocket light": "#1f77b4", "rocket light fp16": "#17becf", "rocket light int8": "#2ca02c" };
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H + 40}" font-family="sans-serif" font-size="12">`, `<rect width="${W}" height="${H + 40}" fill="white"/>`];
  results.forEach((r, k) => {
    const x0 = k * PW;
    const pts = NETS.map((n) => ({ net: n, x: r.probe[n].samplesPerSecond / 1000, y: mean(r.auc[n]) }));
    const ylo = Math.min(...pts.map((p) => p.y)) - 0.004, yhi = Math.max(...pts.map((p) => p.y)) + 0.004;
    const xhi = Math.max(...pts.map((p) => p.x)) * 1.15;
    const sx = (v: number) => x0 + left + (v / xhi) * (PW - left - right);
    const sy = (v: number) => H - bottom - ((v - ylo) / (yhi - ylo)) * (H - bottom - top);
    out.push(`<text x="${x0 + PW / 2}" y="22" text-anchor="middle" font-size="14">${r.name}</text>`);
    out.push(`<line x1="${sx(0)}" x2="${sx(xhi)}" y1="${H - bottom}" y2="${H - bottom}" stroke="black"/><line x1="${sx(0)}" x2="${sx(0)}" y1="${top}" y2="${H - bottom}" stroke="black"/>`);
    for (let i = 0; i <= 4; i++) {
      const v = ylo + ((yhi - ylo) * i) / 4;
      out.push(`<text x="${sx(0) - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(3)}</text>`);
      const xv = (xhi * i) / 4;
      out.push(`<text x="${sx(xv)}" y="${H - bottom + 16}" text-anchor="middle" font-size="10">${Math.round(xv)}</text>`);
    }
    out.push(`<text x="${x0 + PW / 2}" y="${H - bottom + 36}" text-anchor="middle">thousand samples/s (B = 1024)</text>`);
    out.push(`<text x="${x0 + 14}" y="${(top + H - bottom) / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${(top + H - bottom) / 2})">test AUC</text>`);
    for (const p of pts) out.push(`<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="6" fill="${colors[p.net]}"/>`);
  });
  NETS.forEach((n, i) => out.push(`<circle cx="${20 + i * 150}" cy="${H + 20}" r="6" fill="${colors[n]}"/><text x="${30 + i * 150}" y="${H + 24}">${n}</text>`));
  out.push("</svg>");
  return out.join("\n") + "\n";
}

interface Report extends Provenance {
  command: string;
  /** When and where the mapped-load table was measured, when that was not with the datasets (--only loads). */
  loadsMade?: Provenance;
  results: DatasetResult[];
  loads: ReturnType<typeof loadTimes>;
}

function render(out: string): void {
  const j = JSON.parse(readFileSync(path.join(out, "compression.json"), "utf8")) as Report;
  writeFileSync(path.join(out, "compression.md"), markdown(j.results, j.loads, j.command, j, j.loadsMade));
  writeFileSync(path.join(out, "compression.svg"), chart(j.results));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { data: { type: "string" }, only: { type: "string" }, out: { type: "string", default: "docs" }, render: { type: "boolean", default: false } } });
  const out = values.out!;
  // --render: the Markdown and the chart again from compression.json, no training.
  if (values.render) return render(out);
  const json = path.join(out, "compression.json");
  const report: Report = existsSync(json) ? (JSON.parse(readFileSync(json, "utf8")) as Report) : { date: "", command: "", results: [], loads: [] };
  const save = () => {
    Object.assign(report, { date: new Date().toISOString(), machine: machineInfo(), command: "node dist/bench/compression.js --data <ml-latest-small>" });
    writeFileSync(json, JSON.stringify(report, null, 1) + "\n");
  };
  const keep = (r: DatasetResult) => {
    report.results = [...report.results.filter((x) => x.name !== r.name), r].sort((a, b) => a.name.localeCompare(b.name));
    save();
  };
  const dir = mkdtempSync(path.join(tmpdir(), "dien-compression-"));
  try {
    if (!values.only || values.only === "drift") {
      // The embedded data, as `npm start` draws it (its own train and test users per seed).
      keep(await runDataset("embedded drifting interests", "drift", driftSplit, { epochs: 4, lr: 3e-3, seeds: 5 }, dir));
      report.loads = loadTimes(path.join(dir, "drift-light.safetensors"), dir);
      delete report.loadsMade; // measured with the datasets: the report's own date and machine
      save();
    }
    if (values.only === "loads") {
      // The mapped-load table alone, from a fresh light net of the embedded data's size.
      using light = await DienModel.create({ model: "dien", itemVocab: 961, catVocab: 25, userVocab: 20001, hidden: 32, maxLen: 100 }, { seed: 1 });
      await light.save(path.join(dir, "light.safetensors"));
      report.loads = loadTimes(path.join(dir, "light.safetensors"), dir);
      report.loadsMade = { date: new Date().toISOString(), machine: machineInfo() };
      writeFileSync(json, JSON.stringify(report, null, 1) + "\n"); // the datasets' date and machine stay theirs
    }
    if (values.only === "apart") {
      // The vocabulary-apart sizes alone, for results made before they were measured: file
      // sizes depend on the config and vocabularies only, so seed 1's split and a fresh
      // light net of its config give exactly those of seed 1's trained one.
      const splits: [string, () => Promise<Sample[]>][] = [["embedded drifting interests", async () => driftSplit(1).train]];
      if (values.data) splits.push(["MovieLens ml-latest-small", async () => (await loadMovieLens(values.data!, { split: "all", seed: 1 })).train]);
      for (const [name, train] of splits) {
        const result = report.results.find((x) => x.name === name);
        if (!result) continue;
        const vocab = buildVocabularies(await train());
        using light = await DienModel.create({ ...paperConfig("dien", vocab, 100), hidden: 32 }, { seed: 1, vocab });
        result.vocabApart = await vocabApart(light, dir);
      }
      writeFileSync(json, JSON.stringify(report, null, 1) + "\n"); // sizes only: the report's date and machine stay
    }
    if (!values.only || values.only === "movielens") {
      if (values.data) keep(await runDataset("MovieLens ml-latest-small", "movielens", (seed) => loadMovieLens(values.data!, { split: "all", seed }), { epochs: 2, lr: 1e-3, seeds: 2 }, dir));
      else process.stderr.write("no --data: MovieLens skipped\n");
    }
    render(out);
    process.stdout.write(readFileSync(path.join(out, "compression.md"), "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
