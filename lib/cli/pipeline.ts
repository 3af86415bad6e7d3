/**
 * What `dien train` and `dien eval` do, as functions: read a dataset in one of the §13
 * formats, build vocabularies, train with a progress bar, and evaluate (AUC, GAUC, log-loss).
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";

import { type SingleBar } from "cli-progress";

import type { ModelName } from "../config";
import { type DataFormat, type ReadReport, type Sample, newReport, readSamples } from "../data/formats";
import { loadMovieLens, type MovieLensSplit } from "../data/movielens";
import { NegativeSampler, encodeSamples, epochBatches } from "../data/dataset";
import type { Vocabularies } from "../data/vocab";
import { auc, gauc, logloss } from "../metrics";
import type { DienModel } from "../model";
import type { Trainer } from "../trainer";

export type Format = DataFormat | "movielens";

/** A file, or every file of a folder in name order. */
function files(source: string): string[] {
  if (!statSync(source).isDirectory()) return [source];
  return readdirSync(source)
    .sort()
    .map((f) => path.join(source, f))
    .filter((f) => statSync(f).isFile());
}

export async function readDataset(source: string, format: DataFormat, skipBadLines: boolean, report: ReadReport = newReport()): Promise<Sample[]> {
  const out: Sample[] = [];
  for (const file of files(source)) for await (const s of readSamples(file, format, { skipBadLines }, report)) out.push(s);
  return out;
}

export interface Datasets {
  train: Sample[];
  test: Sample[];
  skipped: number;
}

export async function loadDatasets(o: { format: Format; train: string; test?: string; split: MovieLensSplit; seed: number; skipBadLines: boolean }): Promise<Datasets> {
  if (o.format === "movielens") return { ...loadMovieLens(o.train, { split: o.split, seed: o.seed }), skipped: 0 };
  if (!o.test) throw new TypeError("--test: required for the dien and din formats (movielens splits its users itself)");
  const report = newReport();
  const train = await readDataset(o.train, o.format, o.skipBadLines, report);
  const test = await readDataset(o.test, o.format, o.skipBadLines, report);
  if (report.skipped > 0) process.stderr.write(`skipped ${report.skipped} malformed lines; first: ${report.firstSkipped[0]}\n`);
  return { train, test, skipped: report.skipped };
}

/** The paper's model at its defaults, sized by the vocabularies. */
export function paperConfig(model: ModelName, v: Vocabularies, maxLen: number) {
  const users = v.users?.size ?? 0;
  return { model, itemVocab: v.items.size, catVocab: v.cats.size, userVocab: users, dItem: 18, dCat: 18, dUser: users > 0 ? 18 : 0, hidden: 36, maxLen };
}

export interface TestMetrics {
  auc: number;
  gauc: number;
  logloss: number;
  n: number;
}

/** Test metrics with the model's own vocabularies; GAUC groups by the file's user ids. */
export async function evaluate(model: DienModel, samples: readonly Sample[], batch = 1024): Promise<TestMetrics> {
  const v = model.vocab;
  if (!v) throw new TypeError("the model has no vocabularies: train it with `dien train` (or create it with { vocab }) to evaluate files");
  const set = encodeSamples(samples, v, model.config.maxLen, model.config.userVocab > 0);
  const probs = new Float64Array(set.n);
  let at = 0;
  for (const b of epochBatches(set, batch)) {
    const { label: _label, ...inputs } = b;
    probs.set(await model.predict(inputs), at);
    at += b.targetItem.length;
  }
  const groups = new Map<string, number>();
  const users = samples.map((s) => groups.get(s.user) ?? (groups.set(s.user, groups.size), groups.size - 1));
  const labels = Array.from(set.label);
  return { auc: auc(probs, labels), gauc: gauc(probs, labels, users).gauc, logloss: logloss(probs, labels), n: set.n };
}

export interface TrainLoopOptions {
  epochs: number;
  batch: number;
  seed: number;
  bar?: SingleBar;
  checkpointEvery?: number;
  checkpoint?: string;
  stop?: () => boolean;
}

/** Epochs of seeded shuffles; resumes mid-epoch from trainer.steps. Returns samples trained. */
export async function trainLoop(trainer: Trainer, train: readonly Sample[], o: TrainLoopOptions): Promise<{ samples: number; stopped: boolean; lastLoss: number }> {
  const model = trainer.model;
  const c = model.config;
  const set = encodeSamples(train, model.vocab!, c.maxLen, c.userVocab > 0);
  const aux = !["base", "wide-deep", "pnn", "din"].includes(c.model) && c.auxAlpha > 0;
  const perEpoch = Math.ceil(set.n / o.batch);
  let step = trainer.steps;
  let samples = 0;
  let lastLoss = NaN;
  const t0 = performance.now();
  o.bar?.start(perEpoch * o.epochs, step, { speed: "0", loss: "-" });
  for (let epoch = Math.floor(step / perEpoch); epoch < o.epochs; epoch++) {
    const sampler = aux ? new NegativeSampler(set, o.seed * 1000 + epoch) : undefined;
    const batches = epochBatches(set, o.batch, { shuffleSeed: o.seed * 1000 + epoch, sampler });
    // Batches a resumed run already trained: drawn (so shuffles and negatives line up) and dropped.
    for (let k = epoch * perEpoch; k < step; k++) batches.next();
    // The next batch is built on this thread while the engine runs the current step.
    let next = batches.next();
    while (!next.done) {
      const b = next.value;
      const running = trainer.step(b);
      next = batches.next();
      lastLoss = (await running).loss;
      step++;
      samples += b.targetItem.length;
      o.bar?.update(step, { speed: Math.round((samples / (performance.now() - t0)) * 1000).toString(), loss: lastLoss.toFixed(4) });
      if (o.checkpoint && o.checkpointEvery && step % o.checkpointEvery === 0) await trainer.save(o.checkpoint);
      if (o.stop?.()) return { samples, stopped: true, lastLoss };
    }
    await trainer.endEpoch();
  }
  o.bar?.stop();
  return { samples, stopped: false, lastLoss };
}
