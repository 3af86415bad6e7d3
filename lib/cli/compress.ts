/**
 * `dien compress`: Rocket Launching (docs/model.md §11) on a click log. A booster (default
 * H = 108) and a light net (default H = 32) train together with shared embeddings and the
 * hint loss; both are written as ordinary weight files and evaluated on the test set.
 * With --baseline the light net is also trained alone, same data, seed and budget, so the
 * report says what the booster's hint bought.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

import { type SingleBar } from "cli-progress";

import { type ModelName, hasGru, normalizeConfig } from "../config";
import type { Sample } from "../data/formats";
import { type BatchSource, holdOut, inOrder } from "../data/store";
import type { Vocabularies } from "../data/vocab";
import { DienModel } from "../model";
import { type RocketEmbeddings, rocketTrainer } from "../rocket";
import { type LoopTrainer, type TestMetrics, type TrainLoopOptions, encodedSource, evaluate, paperConfig, sourceAuc, trainLoop } from "./pipeline";

export interface CompressOptions {
  model: ModelName;
  boosterHidden: number;
  lightHidden: number;
  lambda: number;
  /** What trains the shared embedding layer (RocketOptions.embeddings; default "joint"). */
  embeddings?: RocketEmbeddings;
  epochs: number;
  batch: number;
  lr: number;
  /** Factor the learning rate is multiplied by after each epoch (default 1: constant). */
  lrDecay?: number;
  seed: number;
  threads: number;
  maxLen: number;
  /** Also train the light net alone with the same budget. */
  baseline: boolean;
  /**
   * Share of the training users (of the samples, for data without users) held out for
   * early stopping (default 0: none, train all `epochs`). With a hold-out, each net keeps
   * the weights of its best epoch by validation AUC, and training stops once the light
   * net's has not improved for `patience` epochs (default 2; `epochs` is then the most).
   */
  validation?: number;
  patience?: number;
  /** A progress bar per training run (given the run's name). */
  bar?: (name: string) => SingleBar;
}

export interface CompressData {
  vocab: Vocabularies;
  train: BatchSource | readonly Sample[];
  test: () => AsyncIterable<Sample> | Iterable<Sample>;
}

export interface NetResult {
  hidden: number;
  test: TestMetrics;
  /** Float32 weight file size, once saved. */
  bytes?: number;
  /** With early stopping: the epoch kept and its validation AUC. */
  best?: BestEpoch;
}

export interface CompressResult {
  booster: DienModel;
  light: DienModel;
  alone?: DienModel;
  /** Seconds and samples/s of the joint training (and of the light net's alone). */
  seconds: { rocket: number; alone?: number };
  samplesPerSecond: { rocket: number; alone?: number };
  metrics: { booster: TestMetrics; light: TestMetrics; alone?: TestMetrics };
  /** With a hold-out: the epoch (1-based) whose weights each net kept, and its validation AUC. */
  best?: { booster: BestEpoch; light: BestEpoch; alone?: BestEpoch };
  /** Epochs trained: jointly, and by the light net alone. */
  epochsTrained: { rocket: number; alone?: number };
  /** The learning rate each training ended with (o.lr after lrDecay per epoch trained). */
  finalLr: { rocket: number; alone?: number };
}

export interface BestEpoch {
  epoch: number;
  validationAuc: number;
}

/** Trains the booster and light net together (and the light net alone with o.baseline), then tests them. */
export async function rocketLaunch(data: CompressData, o: CompressOptions): Promise<CompressResult> {
  const config = (hidden: number) => ({ ...paperConfig(o.model, data.vocab, o.maxLen), hidden });
  if (!hasGru(normalizeConfig(config(o.boosterHidden))))
    throw new RangeError(`--model: ${o.model} has no GRU, so the booster and the light net would be the same size; Rocket Launching here shrinks H (use a GRU model, or rocketTrainer() with nets of your own)`);
  const create = (hidden: number) => DienModel.create(config(hidden), { seed: o.seed, threads: o.threads, vocab: data.vocab });
  const models: DienModel[] = [];
  try {
    return await train(data, o, create, models);
  } catch (err) {
    for (const m of models) m.dispose();
    throw err;
  }
}

async function train(data: CompressData, o: CompressOptions, create: (hidden: number) => Promise<DienModel>, models: DienModel[]): Promise<CompressResult> {
  const booster = await create(o.boosterHidden);
  models.push(booster);
  const light = await create(o.lightHidden);
  models.push(light);
  const source = encodedSource(data.train, booster);
  const { train: trainPart, validation } = o.validation ? holdOut(source, o.validation, o.seed) : { train: source, validation: undefined };
  if (validation && !bothLabels(validation))
    throw new RangeError(`validation: the ${validation.n} training samples held out (${o.validation} of ${source.n}) need a click and a non-click to rank epochs by AUC; hold out more, or pass 0 to train every epoch`);
  const snapshots = validation ? mkdtempSync(path.join(tmpdir(), "dien-compress-")) : undefined;
  try {
    const loop = { epochs: o.epochs, batch: o.batch, seed: o.seed };
    const stopping = (nets: Record<string, DienModel>, watch: string) =>
      validation && snapshots ? { validation, patience: o.patience ?? 2, nets, watch, dir: snapshots, threads: o.threads } : undefined;
    let t0 = performance.now();
    const rocket = rocketTrainer(booster, light, { lr: o.lr, lrDecay: o.lrDecay, lambda: o.lambda, embeddings: o.embeddings });
    const run = await trainEpochs(rocket, trainPart, { ...loop, bar: o.bar?.("rocket") }, stopping({ booster, light }, "light"));
    const rocketSeconds = (performance.now() - t0) / 1000;
    const kept = { booster: run.models.booster ?? booster, light: run.models.light ?? light };
    models.push(...Object.values(run.models));
    const result: CompressResult = {
      booster: kept.booster,
      light: kept.light,
      seconds: { rocket: rocketSeconds },
      samplesPerSecond: { rocket: run.samples / rocketSeconds },
      metrics: { booster: await evaluate(kept.booster, data.test()), light: await evaluate(kept.light, data.test()) },
      ...(run.best ? { best: { booster: run.best.booster!, light: run.best.light! } } : {}),
      epochsTrained: { rocket: run.epochs },
      finalLr: { rocket: rocket.lr },
    };
    for (const m of [booster, light]) if (m !== kept.booster && m !== kept.light) m.dispose();
    if (o.baseline) {
      // The same seed: the light net alone starts from the weights the rocket's light net had.
      const alone = await create(o.lightHidden);
      models.push(alone);
      t0 = performance.now();
      const aloneTrainer = alone.trainer({ lr: o.lr, lrDecay: o.lrDecay });
      const r = await trainEpochs(aloneTrainer, trainPart, { ...loop, bar: o.bar?.("light alone") }, stopping({ alone }, "alone"));
      result.seconds.alone = (performance.now() - t0) / 1000;
      result.samplesPerSecond.alone = r.samples / result.seconds.alone;
      result.alone = r.models.alone ?? alone;
      if (result.alone !== alone) {
        models.push(result.alone);
        alone.dispose();
      }
      result.metrics.alone = await evaluate(result.alone, data.test());
      result.epochsTrained.alone = r.epochs;
      result.finalLr.alone = aloneTrainer.lr;
      if (result.best && r.best) result.best.alone = r.best.alone;
    }
    return result;
  } finally {
    if (snapshots) rmSync(snapshots, { recursive: true, force: true });
  }
}

function bothLabels(src: BatchSource): boolean {
  const seen = new Set<number>();
  for (const { batch } of inOrder(src)) {
    for (const y of batch.label) seen.add(y);
    if (seen.size === 2) return true;
  }
  return false;
}

interface EarlyStopping {
  validation: BatchSource;
  patience: number;
  /** The nets whose best epochs are kept, by name. */
  nets: Record<string, DienModel>;
  /** The net whose validation AUC decides when to stop. */
  watch: string;
  /** Where the best weights wait until the end. */
  dir: string;
  threads: number;
}

/**
 * Trains up to o.epochs. With early stopping, after each epoch every net is scored on the
 * hold-out and saved when it beats its best; training ends when the watched net has not
 * improved for `patience` epochs, and each net comes back as loaded from its best epoch
 * (models: the new DienModels, by name; the trained ones stay the caller's to dispose).
 */
async function trainEpochs(
  trainer: LoopTrainer,
  train: BatchSource,
  o: TrainLoopOptions,
  es?: EarlyStopping,
): Promise<{ samples: number; epochs: number; models: Record<string, DienModel>; best?: Record<string, BestEpoch> }> {
  if (!es) return { samples: (await trainLoop(trainer, train, o)).samples, epochs: o.epochs, models: {} };
  const best: Record<string, BestEpoch> = {};
  let samples = 0;
  let epoch = 1;
  for (; epoch <= o.epochs; epoch++) {
    samples += (await trainLoop(trainer, train, { ...o, epochs: epoch })).samples;
    for (const [name, net] of Object.entries(es.nets)) {
      const validationAuc = await sourceAuc(net, es.validation);
      if (!best[name] || validationAuc > best[name].validationAuc) {
        best[name] = { epoch, validationAuc };
        await net.save(path.join(es.dir, `${name}.safetensors`));
      }
    }
    if (epoch - best[es.watch]!.epoch >= es.patience) break;
  }
  const epochs = Math.min(epoch, o.epochs);
  const models: Record<string, DienModel> = {};
  for (const name of Object.keys(es.nets)) models[name] = await DienModel.load(path.join(es.dir, `${name}.safetensors`), { threads: es.threads });
  return { samples, epochs, models, best };
}

export interface CompressReport {
  text: string;
  json: {
    model: ModelName;
    lambda: number;
    embeddings: RocketEmbeddings;
    epochs: number;
    lr: number;
    lrDecay: number;
    /** The learning rate the joint training ended with. */
    finalLr: number;
    booster: NetResult & { file: string };
    light: NetResult & { file: string };
    lightAlone?: NetResult;
    trainSeconds: number;
    samplesPerSecond: number;
  };
}

/** Saves the booster and light net, and the report's text and JSON. Disposes the models. */
export async function writeCompressed(r: CompressResult, o: CompressOptions, out: string, boosterOut: string): Promise<CompressReport> {
  try {
    await r.light.save(out);
    await r.booster.save(boosterOut);
    const row = (name: string, hidden: number, m: TestMetrics, best?: BestEpoch, file?: string) =>
      `${name.padEnd(12)} H = ${String(hidden).padEnd(4)} AUC ${m.auc.toFixed(4)}  GAUC ${m.gauc.toFixed(4)}  log-loss ${m.logloss.toFixed(4)}${best ? `  epoch ${best.epoch} (validation AUC ${best.validationAuc.toFixed(4)})` : ""}${file ? `  ${file} (${statSync(file).size} bytes)` : ""}`;
    const lines = [
      `trained ${r.best ? `${r.epochsTrained.rocket} of at most ${o.epochs} epoch(s) (early stopping on ${o.validation} of the training users)` : `${o.epochs} epoch(s)`} jointly in ${r.seconds.rocket.toFixed(1)} s (${Math.round(r.samplesPerSecond.rocket)} samples/s), Adam ${o.lr}${(o.lrDecay ?? 1) !== 1 ? ` x ${o.lrDecay} per epoch` : ""}, lambda ${o.lambda}, embeddings trained by ${o.embeddings === "booster" ? "the booster alone" : "both nets"}`,
      row("booster", o.boosterHidden, r.metrics.booster, r.best?.booster, boosterOut),
      row("light", o.lightHidden, r.metrics.light, r.best?.light, out),
    ];
    if (r.metrics.alone) lines.push(row("light alone", o.lightHidden, r.metrics.alone, r.best?.alone));
    lines.push(`test samples ${r.metrics.light.n}`);
    return {
      text: lines.join("\n"),
      json: {
        model: o.model,
        lambda: o.lambda,
        embeddings: o.embeddings ?? "joint",
        epochs: o.epochs,
        lr: o.lr,
        lrDecay: o.lrDecay ?? 1,
        finalLr: r.finalLr.rocket,
        booster: { hidden: o.boosterHidden, test: r.metrics.booster, file: boosterOut, bytes: statSync(boosterOut).size, ...(r.best ? { best: r.best.booster } : {}) },
        light: { hidden: o.lightHidden, test: r.metrics.light, file: out, bytes: statSync(out).size, ...(r.best ? { best: r.best.light } : {}) },
        ...(r.metrics.alone ? { lightAlone: { hidden: o.lightHidden, test: r.metrics.alone, ...(r.best?.alone ? { best: r.best.alone } : {}) } } : {}),
        trainSeconds: r.seconds.rocket,
        samplesPerSecond: r.samplesPerSecond.rocket,
      },
    };
  } finally {
    r.booster.dispose();
    r.light.dispose();
    r.alone?.dispose();
  }
}
