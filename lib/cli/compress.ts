/**
 * `dien compress`: Rocket Launching (docs/model.md §11) on a click log. A booster (default
 * H = 108) and a light net (default H = 32) train together with shared embeddings and the
 * hint loss; both are written as ordinary weight files and evaluated on the test set.
 * With --baseline the light net is also trained alone, same data, seed and budget, so the
 * report says what the booster's hint bought.
 */
import { statSync } from "node:fs";

import { type SingleBar } from "cli-progress";

import { type ModelName, hasGru, normalizeConfig } from "../config";
import type { Sample } from "../data/formats";
import type { BatchSource } from "../data/store";
import type { Vocabularies } from "../data/vocab";
import { DienModel } from "../model";
import { rocketTrainer } from "../rocket";
import { type TestMetrics, evaluate, paperConfig, trainLoop } from "./pipeline";

export interface CompressOptions {
  model: ModelName;
  boosterHidden: number;
  lightHidden: number;
  lambda: number;
  epochs: number;
  batch: number;
  lr: number;
  seed: number;
  threads: number;
  maxLen: number;
  /** Also train the light net alone with the same budget. */
  baseline: boolean;
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
}

export interface CompressResult {
  booster: DienModel;
  light: DienModel;
  alone?: DienModel;
  /** Seconds and samples/s of the joint training (and of the light net's alone). */
  seconds: { rocket: number; alone?: number };
  samplesPerSecond: { rocket: number; alone?: number };
  metrics: { booster: TestMetrics; light: TestMetrics; alone?: TestMetrics };
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
  const loop = { epochs: o.epochs, batch: o.batch, seed: o.seed };
  let t0 = performance.now();
  const run = await trainLoop(rocketTrainer(booster, light, { lr: o.lr, lambda: o.lambda }), data.train, { ...loop, bar: o.bar?.("rocket") });
  const rocketSeconds = (performance.now() - t0) / 1000;
  const result: CompressResult = {
    booster,
    light,
    seconds: { rocket: rocketSeconds },
    samplesPerSecond: { rocket: run.samples / rocketSeconds },
    metrics: { booster: await evaluate(booster, data.test()), light: await evaluate(light, data.test()) },
  };
  if (o.baseline) {
    // The same seed: the light net alone starts from the weights the rocket's light net had.
    const alone = await create(o.lightHidden);
    models.push(alone);
    t0 = performance.now();
    const r = await trainLoop(alone.trainer({ lr: o.lr }), data.train, { ...loop, bar: o.bar?.("light alone") });
    result.alone = alone;
    result.seconds.alone = (performance.now() - t0) / 1000;
    result.samplesPerSecond.alone = r.samples / result.seconds.alone;
    result.metrics.alone = await evaluate(alone, data.test());
  }
  return result;
}

export interface CompressReport {
  text: string;
  json: {
    model: ModelName;
    lambda: number;
    epochs: number;
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
    const row = (name: string, hidden: number, m: TestMetrics, file?: string) =>
      `${name.padEnd(12)} H = ${String(hidden).padEnd(4)} AUC ${m.auc.toFixed(4)}  GAUC ${m.gauc.toFixed(4)}  log-loss ${m.logloss.toFixed(4)}${file ? `  ${file} (${statSync(file).size} bytes)` : ""}`;
    const lines = [
      `trained ${o.epochs} epoch(s) jointly in ${r.seconds.rocket.toFixed(1)} s (${Math.round(r.samplesPerSecond.rocket)} samples/s), lambda ${o.lambda}`,
      row("booster", o.boosterHidden, r.metrics.booster, boosterOut),
      row("light", o.lightHidden, r.metrics.light, out),
    ];
    if (r.metrics.alone) lines.push(row("light alone", o.lightHidden, r.metrics.alone));
    lines.push(`test samples ${r.metrics.light.n}`);
    return {
      text: lines.join("\n"),
      json: {
        model: o.model,
        lambda: o.lambda,
        epochs: o.epochs,
        booster: { hidden: o.boosterHidden, test: r.metrics.booster, file: boosterOut, bytes: statSync(boosterOut).size },
        light: { hidden: o.lightHidden, test: r.metrics.light, file: out, bytes: statSync(out).size },
        ...(r.metrics.alone ? { lightAlone: { hidden: o.lightHidden, test: r.metrics.alone } } : {}),
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
