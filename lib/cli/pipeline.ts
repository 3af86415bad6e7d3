/**
 * What `dien train`, `dien eval` and `dien experiment` do, as functions: read a dataset in
 * one of the §13 formats, build vocabularies, train with a progress bar, evaluate (AUC,
 * GAUC, log-loss). Files are streamed: the training file is read twice (vocabularies, then
 * encoding into a SampleStore on disk) and the test file once, so neither needs to fit in
 * memory.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { type SingleBar } from "cli-progress";

import { hasGru, type ModelName } from "../config";
import { NegativeSampler, VocabularyBuilder, encodeSamples, epochBatches } from "../data/dataset";
import { type DataFormat, type ReadReport, type Sample, newReport, readSamples } from "../data/formats";
import { loadMovieLens, type MovieLensSplit } from "../data/movielens";
import { type BatchSource, SampleStore, inOrder, memorySource } from "../data/store";
import type { Vocabularies } from "../data/vocab";
import { auc, gauc, logloss } from "../metrics";
import type { DienModel } from "../model";
import type { TrainBatch } from "../types";

export type Format = DataFormat | "movielens";

/** A file, or every file of a folder in name order. */
function files(source: string): string[] {
  if (!statSync(source).isDirectory()) return [source];
  return readdirSync(source)
    .sort()
    .map((f) => path.join(source, f))
    .filter((f) => statSync(f).isFile());
}

/** The samples of a file or folder, streamed. */
export async function* streamDataset(source: string, format: DataFormat, skipBadLines: boolean, report: ReadReport = newReport()): AsyncGenerator<Sample> {
  for (const file of files(source)) yield* readSamples(file, format, { skipBadLines }, report);
}

export interface DataOptions {
  format: Format;
  train: string;
  test?: string;
  split: MovieLensSplit;
  seed: number;
  skipBadLines: boolean;
  maxLen: number;
}

/** Training data ready for trainLoop, and the test set as a stream. close() deletes temp files. */
export interface PreparedData {
  vocab: Vocabularies;
  train: BatchSource;
  test: () => AsyncIterable<Sample> | Iterable<Sample>;
  /** Malformed lines skipped so far (training, and the test stream once read). */
  skipped(): number;
  close(): void;
}

/**
 * Reads the training data (with the given vocabularies, or builds them from it) and
 * encodes it: MovieLens in memory (it is small), files into a SampleStore.
 */
export async function prepareData(o: DataOptions, vocab?: Vocabularies): Promise<PreparedData> {
  if (o.format === "movielens") {
    const { train, test } = loadMovieLens(o.train, { split: o.split, seed: o.seed });
    let v = vocab;
    if (!v) {
      const b = new VocabularyBuilder();
      for (const s of train) b.add(s);
      v = b.build();
    }
    return { vocab: v, train: memorySource(encodeSamples(train, v, o.maxLen, v.users !== undefined)), test: () => test, skipped: () => 0, close() {} };
  }
  const format = o.format;
  const testPath = o.test;
  if (!testPath) throw new TypeError("--test: required for the dien and din formats (movielens splits its users itself)");
  const report = newReport();
  let v = vocab;
  if (!v) {
    const b = new VocabularyBuilder();
    for await (const s of streamDataset(o.train, format, o.skipBadLines, report)) b.add(s);
    v = b.build();
  }
  const dir = mkdtempSync(path.join(tmpdir(), "dien-store-"));
  const store = await SampleStore.write(streamDataset(o.train, format, o.skipBadLines, vocab ? report : newReport()), v, o.maxLen, v.users !== undefined, path.join(dir, "train.bin"));
  if (report.skipped > 0) process.stderr.write(`skipped ${report.skipped} malformed training lines; first: ${report.firstSkipped[0]}\n`);
  const testReport = newReport();
  return {
    vocab: v,
    train: store,
    test: () => streamDataset(testPath, format, o.skipBadLines, testReport),
    skipped: () => report.skipped + testReport.skipped,
    close() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

/**
 * Test metrics with the model's own vocabularies, streaming the samples in chunks; GAUC
 * groups by the file's user ids.
 */
export async function evaluate(model: DienModel, samples: AsyncIterable<Sample> | Iterable<Sample>, chunk = 4096): Promise<TestMetrics & { skipped?: number }> {
  const v = await model.loadVocab();
  if (!v) throw new TypeError("the model has no vocabularies: train it with `dien train` (or create it with { vocab }) to evaluate files");
  const probs: number[] = [];
  const labels: number[] = [];
  const users: number[] = [];
  const groups = new Map<string, number>();
  let pending: Sample[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const set = encodeSamples(pending, v, model.config.maxLen, model.config.userVocab > 0);
    const { label, ...inputs } = memorySource(set).batch(Array.from({ length: set.n }, (_, i) => i));
    const p = await model.predict(inputs);
    for (let i = 0; i < set.n; i++) {
      probs.push(p[i]!);
      labels.push(label[i]!);
      const u = pending[i]!.user;
      users.push(groups.get(u) ?? (groups.set(u, groups.size), groups.size - 1));
    }
    pending = [];
  };
  for await (const s of samples) {
    pending.push(s);
    if (pending.length === chunk) await flush();
  }
  await flush();
  return { auc: auc(probs, labels), gauc: gauc(probs, labels, users).gauc, logloss: logloss(probs, labels), n: probs.length };
}

/** Training data as a source of batches: samples are encoded with the model's vocabularies. */
export function encodedSource(train: BatchSource | readonly Sample[], model: DienModel): BatchSource {
  const c = model.config;
  return "batch" in train ? train : memorySource(encodeSamples(train, model.vocab!, c.maxLen, c.userVocab > 0));
}

/** AUC of a model over an encoded source (a validation hold-out), in chunks. */
export async function sourceAuc(model: DienModel, src: BatchSource, chunk = 4096): Promise<number> {
  const probs = new Float32Array(src.n);
  const labels = new Float32Array(src.n);
  for (const { start, batch } of inOrder(src, chunk)) {
    const { label, ...inputs } = batch;
    probs.set(await model.predict(inputs), start);
    labels.set(label, start);
  }
  return auc(probs, labels);
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

/** What trainLoop drives: a Trainer, or a RocketTrainer (whose batches are the booster's). */
export interface LoopTrainer {
  readonly model: DienModel;
  readonly steps: number;
  step(batch: TrainBatch): Promise<{ loss: number }>;
  endEpoch(): Promise<void>;
  /** Needed only with o.checkpoint. */
  save?(path: string): Promise<void>;
}

/** Epochs of seeded shuffles; resumes mid-epoch from trainer.steps. Returns samples trained. */
export async function trainLoop(trainer: LoopTrainer, train: BatchSource | readonly Sample[], o: TrainLoopOptions): Promise<{ samples: number; stopped: boolean; lastLoss: number }> {
  const c = trainer.model.config;
  const source = encodedSource(train, trainer.model);
  const aux = hasGru(c) && c.auxAlpha > 0;
  const perEpoch = Math.ceil(source.n / o.batch);
  let step = trainer.steps;
  let samples = 0;
  let lastLoss = NaN;
  const t0 = performance.now();
  o.bar?.start(perEpoch * o.epochs, step, { speed: "0", loss: "-" });
  for (let epoch = Math.floor(step / perEpoch); epoch < o.epochs; epoch++) {
    const sampler = aux ? new NegativeSampler(source, o.seed * 1000 + epoch) : undefined;
    const batches = epochBatches(source, o.batch, { shuffleSeed: o.seed * 1000 + epoch, sampler });
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
      if (o.checkpoint && o.checkpointEvery && step % o.checkpointEvery === 0) {
        if (!trainer.save) throw new TypeError("checkpoint: this trainer does not write checkpoints");
        await trainer.save(o.checkpoint);
      }
      if (o.stop?.()) return { samples, stopped: true, lastLoss };
    }
    await trainer.endEpoch();
  }
  o.bar?.stop();
  return { samples, stopped: false, lastLoss };
}
