/**
 * Test AUC after every epoch of the compression report's three nets on the embedded data
 * (docs/experiments/rocket-curves.md and rocket-curves.json): the booster (H = 108) and
 * the rocket-launched light net (H = 32, λ = 0.03, embeddings trained by both nets)
 * trained together, and the light net trained alone from the same initial weights, under
 * two learning-rate schedules: the report's constant Adam 3e-3 and 4e-3 multiplied by 0.6
 * after each epoch (`lrDecay`, `dien compress --lr-decay`). It shows when in training the
 * light net gains or loses against the other two, which a single final epoch hides.
 *   node dist/bench/rocket-curves.js [--seeds 2] [--epochs 6] [--out docs/experiments]
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { buildVocabularies } from "../lib/data/dataset";
import { DienModel } from "../lib/model";
import { rocketTrainer } from "../lib/rocket";
import { encodedSource, evaluate, paperConfig, trainLoop } from "../lib/cli/pipeline";
import { machineInfo } from "./machine";
import { driftSplit, reportHeader } from "./report";

interface Schedule {
  lr: number;
  lrDecay: number;
}
const SCHEDULES: Schedule[] = [
  { lr: 3e-3, lrDecay: 1 },
  { lr: 4e-3, lrDecay: 0.6 },
];

interface Curves extends Schedule {
  seed: number;
  booster: number[];
  light: number[];
  alone: number[];
}

const scheduleName = (s: Schedule) => (s.lrDecay === 1 ? `Adam ${s.lr}, constant` : `Adam ${s.lr}, × ${s.lrDecay} after each epoch`);
const row = (xs: number[]) => xs.map((x) => x.toFixed(4)).join(" | ");

function markdown(runs: Curves[], epochs: number, command: string): string {
  const lines = [
    ...reportHeader("Rocket Launching on the embedded data, epoch by epoch", command),
    `The compression report's nets (docs/compression.md: dien at the paper's defaults, booster H = 108, light net H = 32, λ = 0.03, embeddings trained by both nets, batch 128, 20000 training users, 3000 new test users with their user ids): test AUC after each of ${epochs} epochs, per seed and learning-rate schedule. "alone" is the light net trained by itself from the same initial weights with the same schedule.`,
    "",
    `| seed | schedule | net | ${Array.from({ length: epochs }, (_, e) => `epoch ${e + 1}`).join(" | ")} |`,
    `|---:|---|---|${"---:|".repeat(epochs)}`,
  ];
  for (const r of runs)
    for (const net of ["booster", "light", "alone"] as const)
      lines.push(`| ${r.seed} | ${scheduleName(r)} | ${net === "light" ? "rocket light" : net === "alone" ? "light alone" : "booster"} | ${row(r[net])} |`);
  lines.push("");
  return lines.join("\n");
}

async function curves(seed: number, s: Schedule, epochs: number): Promise<Curves> {
  const { train, test } = driftSplit(seed);
  const vocab = buildVocabularies(train);
  const create = (hidden: number) => DienModel.create({ ...paperConfig("dien", vocab, 100), hidden }, { seed, threads: 0, vocab });
  const loop = { batch: 128, seed };
  const out: Curves = { ...s, seed, booster: [], light: [], alone: [] };
  const alone = await create(32);
  const booster = await create(108);
  const light = await create(32);
  try {
    const aloneTrainer = alone.trainer({ lr: s.lr, lrDecay: s.lrDecay });
    const rocket = rocketTrainer(booster, light, { lr: s.lr, lrDecay: s.lrDecay, lambda: 0.03 });
    const source = encodedSource(train, booster);
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await trainLoop(aloneTrainer, source, { ...loop, epochs: epoch });
      await trainLoop(rocket, source, { ...loop, epochs: epoch });
      out.alone.push((await evaluate(alone, test)).auc);
      out.booster.push((await evaluate(booster, test)).auc);
      out.light.push((await evaluate(light, test)).auc);
      process.stderr.write(`seed ${seed}, ${scheduleName(s)}, epoch ${epoch}: booster ${out.booster.at(-1)!.toFixed(4)} light ${out.light.at(-1)!.toFixed(4)} alone ${out.alone.at(-1)!.toFixed(4)}\n`);
    }
  } finally {
    for (const m of [alone, booster, light]) m.dispose();
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string", default: "2" },
      epochs: { type: "string", default: "6" },
      out: { type: "string", default: path.join("docs", "experiments") },
    },
  });
  const seeds = Number(values.seeds);
  const epochs = Number(values.epochs);
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`--seeds: expected an integer >= 1 but got ${values.seeds}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError(`--epochs: expected an integer >= 1 but got ${values.epochs}`);
  const runs: Curves[] = [];
  for (let seed = 1; seed <= seeds; seed++) for (const s of SCHEDULES) runs.push(await curves(seed, s, epochs));
  const command = `node dist/bench/rocket-curves.js --seeds ${seeds} --epochs ${epochs}`;
  writeFileSync(path.join(values.out!, "rocket-curves.json"), JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), command, runs }, null, 1) + "\n");
  const md = markdown(runs, epochs, command);
  writeFileSync(path.join(values.out!, "rocket-curves.md"), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
