/**
 * Where the rocket-launched light net loses to the light net trained alone on the embedded
 * data: docs/experiments/rocket.md and rocket.json. The compression report's recipe
 * (bench/compression.ts: dien at the paper's defaults, booster H = 108, light H = 32,
 * λ = 0.03, Adam 3e-3, 4 epochs, batch 128) with two things varied: what trains the shared
 * embedding layer (RocketOptions.embeddings: both nets, or the booster alone) and whether
 * the samples carry their user id (every test user is new, so a user embedding is only
 * ever read for training users).
 * With --early-stopping each net keeps its best epoch by validation AUC on 10 % of the
 * training users (patience 2, at most 6 epochs; docs/experiments/rocket-early.md).
 *   node dist/bench/rocket-ablation.js [--seeds 3] [--users with|without|both] [--early-stopping] [--out docs/experiments]
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";

import { buildVocabularies } from "../lib/data/dataset";
import type { Sample } from "../lib/data/formats";
import { type CompressOptions, rocketLaunch } from "../lib/cli/compress";
import type { RocketEmbeddings } from "../lib/rocket";
import { machineInfo } from "./machine";
import { driftSplit, mean, reportHeader, signed, std } from "./report";

interface Variant {
  users: boolean;
  embeddings: RocketEmbeddings;
}
const VARIANTS: Variant[] = [
  { users: true, embeddings: "joint" },
  { users: true, embeddings: "booster" },
  { users: false, embeddings: "joint" },
  { users: false, embeddings: "booster" },
];

interface Row extends Variant {
  booster: number[];
  light: number[];
  alone: number[];
}

const pm = (xs: number[]) => `${signed(mean(xs))} ± ${std(xs).toFixed(4)}`;
const diff = (a: number[], b: number[]) => a.map((x, i) => x - b[i]!);

/** Early stopping: the hold-out, patience and most epochs; otherwise the report's 4 epochs. */
const EARLY = { validation: 0.1, patience: 2, epochs: 6 };

function markdown(rows: Row[], seeds: number, command: string, early: boolean): string {
  const label = (r: Row) => `${r.users ? "with" : "without"} user ids, embeddings trained by ${r.embeddings === "joint" ? "both nets (the paper's)" : "the booster alone"}`;
  const recipe = early
    ? `Adam 0.003, batch 128, at most ${EARLY.epochs} epochs with early stopping (each net keeps the weights of its best epoch by validation AUC on ${EARLY.validation * 100} % of the training users, held out; training stops when the light net has not improved for ${EARLY.patience} epochs)`
    : "Adam 0.003, 4 epochs, batch 128";
  return [
    ...reportHeader(early ? "Rocket Launching on the embedded data, with early stopping" : "Rocket Launching on the embedded data: where the light net loses", command),
    `The compression report's nets on the embedded drifting-interests data (docs/compression.md: dien at the paper's defaults, booster H = 108, light net H = 32, λ = 0.03, ${recipe}, 20000 training users, 3000 new test users), seeds 1..${seeds}. Varied: whether samples carry their user id, and what trains the shared embedding layer (\`rocketTrainer(..., { embeddings })\`, \`dien compress --embeddings\`). "alone" is the light net trained by itself from the same initial weights; differences are paired by seed (mean ± standard deviation).`,
    "",
    "| variant | booster | rocket light | light alone | light − booster | light − alone |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows.map((r) => `| ${label(r)} | ${mean(r.booster).toFixed(4)} | ${mean(r.light).toFixed(4)} | ${mean(r.alone).toFixed(4)} | ${pm(diff(r.light, r.booster))} | ${pm(diff(r.light, r.alone))} |`),
    "",
    "Per seed, light − booster: " + rows.map((r) => `${r.users ? "with" : "without"} users, ${r.embeddings}: ${diff(r.light, r.booster).map(signed).join(", ")}`).join("; ") + ".",
    "",
    "Per seed, light − alone: " + rows.map((r) => `${r.users ? "with" : "without"} users, ${r.embeddings}: ${diff(r.light, r.alone).map(signed).join(", ")}`).join("; ") + ".",
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string", default: "3" },
      users: { type: "string", default: "both" },
      "early-stopping": { type: "boolean", default: false },
      out: { type: "string", default: path.join("docs", "experiments") },
    },
  });
  const seeds = Number(values.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) throw new RangeError(`--seeds: expected an integer >= 1 but got ${values.seeds}`);
  const userChoices: Record<string, boolean[]> = { both: [true, false], with: [true], without: [false] };
  const userRuns = userChoices[values.users!];
  if (!userRuns) throw new RangeError(`--users: expected with, without or both but got ${values.users}`);
  const early = values["early-stopping"]!;
  const schedule = early ? EARLY : { epochs: 4 };
  const rows: Row[] = VARIANTS.filter((v) => userRuns.includes(v.users)).map((v) => ({ ...v, booster: [], light: [], alone: [] }));
  for (let seed = 1; seed <= seeds; seed++) {
    for (const users of userRuns) {
      const strip = (xs: Sample[]) => (users ? xs : xs.map((s) => ({ ...s, user: "" })));
      const split = driftSplit(seed);
      const train = strip(split.train);
      const test = strip(split.test);
      const vocab = buildVocabularies(train);
      let alone: number | undefined;
      for (const row of rows.filter((r) => r.users === users)) {
        const o: CompressOptions = { model: "dien", boosterHidden: 108, lightHidden: 32, lambda: 0.03, embeddings: row.embeddings, ...schedule, batch: 128, lr: 3e-3, seed, threads: 0, maxLen: 100, baseline: alone === undefined };
        const r = await rocketLaunch({ vocab, train, test: () => test }, o);
        alone ??= r.metrics.alone!.auc;
        row.booster.push(r.metrics.booster.auc);
        row.light.push(r.metrics.light.auc);
        row.alone.push(alone);
        for (const m of [r.booster, r.light, r.alone]) m?.dispose();
        process.stderr.write(`seed ${seed}, users ${users}, embeddings ${row.embeddings}: booster ${r.metrics.booster.auc.toFixed(4)} light ${r.metrics.light.auc.toFixed(4)} alone ${alone.toFixed(4)}\n`);
      }
    }
  }
  const command = `node dist/bench/rocket-ablation.js --seeds ${seeds}${values.users === "both" ? "" : ` --users ${values.users}`}${early ? " --early-stopping" : ""}`;
  const name = early ? "rocket-early" : "rocket";
  writeFileSync(path.join(values.out!, `${name}.json`), JSON.stringify({ date: new Date().toISOString(), machine: machineInfo(), command, rows }, null, 1) + "\n");
  const md = markdown(rows, seeds, command, early);
  writeFileSync(path.join(values.out!, `${name}.md`), md);
  process.stdout.write(md);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
