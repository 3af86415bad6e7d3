#!/usr/bin/env node
/**
 * The `dien` command: train a zoo model on a click log and evaluate it, in one command.
 *   dien train --model dien --train data/train --test data/test [--format dien|din|movielens] ...
 *   dien eval --weights model.safetensors --test data/test [--format dien|din] [--json]
 *   dien compress --train data/train --test data/test --booster-hidden 108 --light-hidden 32 --out light.safetensors
 *   dien quantize --weights model.safetensors --dtype int8|fp16 --out model.int8.safetensors
 *   dien serve --weights model.safetensors [--port 8080] [--host 127.0.0.1]
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { Presets, SingleBar } from "cli-progress";

import { MODEL_NAMES, type ModelName } from "../config";
import { DienModel } from "../model";
import { Trainer } from "../trainer";
import { newReport } from "../data/formats";
import { type Format, type PreparedData, type TestMetrics, evaluate, paperConfig, prepareData, streamDataset, trainLoop } from "./pipeline";
import { runExperiment } from "./experiment";
import { quantizeCommand } from "./quantize";
import { ROCKET_EMBEDDINGS, type RocketEmbeddings } from "../rocket";
import { rocketLaunch, writeCompressed } from "./compress";
import { serveCommand } from "./serve";

/** An option's parser: a number that passes ok, or "expected <expected>". */
function numberWhere(ok: (n: number) => boolean, expected: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!ok(n)) throw new InvalidArgumentError(`expected ${expected}`);
    return n;
  };
}

const integer = (min: number) => numberWhere((n) => Number.isInteger(n) && n >= min, `an integer >= ${min}`);
const positive = numberWhere((n) => n > 0 && Number.isFinite(n), "a number > 0");
const nonNegative = numberWhere((n) => n >= 0 && Number.isFinite(n), "a number >= 0");
const decay = numberWhere((n) => n > 0 && n <= 1, "a number in (0, 1]");
const fraction = numberWhere((n) => n >= 0 && n < 1, "a number in [0, 1)");

function table(m: TestMetrics): string {
  return [`test samples  ${m.n}`, `AUC           ${m.auc.toFixed(4)}`, `GAUC          ${m.gauc.toFixed(4)}`, `log-loss      ${m.logloss.toFixed(4)}`].join("\n");
}

/** The data and training options `dien train` and `dien compress` share. */
function trainingOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--train <path>", "training file or folder (movielens: the ml-latest-small folder)")
    .option("--test <path>", "test file or folder (not for movielens)")
    .addOption(new Option("--format <format>", "data format (docs/model.md §13)").choices(["dien", "din", "movielens"]).default("dien"))
    .addOption(new Option("--split <split>", "movielens split").choices(["all", "last"]).default("all"))
    .option("--epochs <n>", "epochs", integer(1), 2)
    .option("--batch <n>", "batch size", integer(1), 128)
    .option("--lr <x>", "Adam learning rate", positive, 1e-3)
    .option("--lr-decay <x>", "factor the learning rate is multiplied by after each epoch (1: constant)", decay, 1)
    .option("--seed <n>", "seed of the split, initialisation, shuffles and negatives", integer(0), 1)
    .option("--threads <n>", "threads (0: one per hardware thread)", integer(0), 0)
    .option("--max-len <n>", "history length kept (most recent behaviours)", integer(1), 100);
}

const program = new Command("dien").description("Deep Interest Evolution Network: train, evaluate and serve CTR models").showHelpAfterError();

trainingOptions(
  program
    .command("train")
    .description("train a zoo model on a click log and evaluate it on the test set")
    .addOption(new Option("--model <name>", "zoo model").choices([...MODEL_NAMES]).default("dien")),
)
  .option("--out <file>", "where to write the trained weights", "model.safetensors")
  .option("--checkpoint-every <n>", "write <out>.ckpt every n steps", integer(1))
  .option("--resume <ckpt>", "continue from a checkpoint written by --checkpoint-every or Ctrl-C")
  .option("--skip-bad-lines", "count and report malformed lines instead of failing", false)
  .option("--json", "print one JSON object as the last line of stdout", false)
  .action(async (o) => {
    const dataOptions = { format: o.format as Format, train: o.train, test: o.test, split: o.split, seed: o.seed, skipBadLines: o.skipBadLines, maxLen: o.maxLen };
    const checkpoint = `${o.out}.ckpt`;
    let trainer: Trainer;
    let data: PreparedData;
    if (o.resume) {
      trainer = await Trainer.resume(o.resume, { threads: o.threads });
      const vocab = await trainer.model.loadVocab();
      if (!vocab) throw new TypeError(`--resume: ${o.resume} has no vocabularies (it was not written by dien train)`);
      data = await prepareData({ ...dataOptions, maxLen: trainer.model.config.maxLen }, vocab);
    } else {
      data = await prepareData(dataOptions);
      const model = await DienModel.create(paperConfig(o.model as ModelName, data.vocab, o.maxLen), { seed: o.seed, threads: o.threads, vocab: data.vocab });
      trainer = model.trainer({ lr: o.lr, lrDecay: o.lrDecay });
    }
    using model = trainer.model;
    try {
      let interrupted = false;
      const onSigint = () => {
        interrupted = true;
      };
      process.on("SIGINT", onSigint);
      const bar = new SingleBar({ format: "{bar} {percentage}% | step {value}/{total} | {speed} samples/s | loss {loss} | ETA {eta_formatted}", stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 }, Presets.shades_classic);
      const t0 = performance.now();
      const run = await trainLoop(trainer, data.train, { epochs: o.epochs, batch: o.batch, seed: o.seed, bar, checkpoint, checkpointEvery: o.checkpointEvery, stop: () => interrupted });
      const seconds = (performance.now() - t0) / 1000;
      process.off("SIGINT", onSigint);
      if (run.stopped) {
        bar.stop();
        await trainer.save(checkpoint);
        process.stderr.write(`\ninterrupted: checkpoint written to ${checkpoint} (resume with --resume ${checkpoint})\n`);
        process.exitCode = 130;
        return;
      }
      await model.save(o.out);
      const test = await evaluate(model, data.test());
      if (data.skipped() > 0) process.stderr.write(`skipped ${data.skipped()} malformed lines in all\n`);
      process.stderr.write(`\n${model.config.model}: trained ${run.samples} samples in ${seconds.toFixed(1)} s; weights in ${o.out}\n${table(test)}\n`);
      if (o.json)
        console.log(JSON.stringify({ model: model.config.model, config: model.config, epochs: o.epochs, lr: trainer.options.lr, lrDecay: trainer.options.lrDecay, finalLr: trainer.lr, trainSeconds: seconds, samplesPerSecond: run.samples / seconds, skippedLines: data.skipped(), test }));
    } finally {
      data.close();
    }
  });

program
  .command("eval")
  .description("evaluate a trained model (with its vocabularies) on a test file or folder")
  .requiredOption("--weights <file>", "weight file written by dien train")
  .requiredOption("--test <path>", "test file or folder")
  .addOption(new Option("--format <format>", "data format").choices(["dien", "din"]).default("dien"))
  .option("--skip-bad-lines", "count and report malformed lines instead of failing", false)
  .option("--json", "print one JSON object as the last line of stdout", false)
  .action(async (o) => {
    using model = await DienModel.load(o.weights);
    const report = newReport();
    const test = await evaluate(model, streamDataset(o.test, o.format, o.skipBadLines, report));
    if (report.skipped > 0) process.stderr.write(`skipped ${report.skipped} malformed lines; first: ${report.firstSkipped[0]}\n`);
    process.stderr.write(`${table(test)}\n`);
    if (o.json) console.log(JSON.stringify({ model: model.config.model, test }));
  });

program
  .command("experiment")
  .description("every zoo model on MovieLens (all-steps split) with the same seeds and budget: the paper's table")
  .requiredOption("--data <dir>", "the ml-latest-small folder")
  .option("--seeds <n>", "seeds (1..n)", integer(1), 3)
  .option("--models <list>", "comma-separated zoo models", MODEL_NAMES.join(","))
  .option("--epochs <n>", "epochs", integer(1), 2)
  .option("--batch <n>", "batch size", integer(1), 128)
  .option("--lr <x>", "Adam learning rate", positive, 1e-3)
  .option("--threads <n>", "threads (0: one per hardware thread)", integer(0), 0)
  .option("--max-len <n>", "history length kept", integer(1), 100)
  .option("--out <dir>", "where the table and chart go", "docs/experiments")
  .action(async (o) => {
    const models = String(o.models).split(",").map((m) => m.trim());
    for (const m of models) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new InvalidArgumentError(`--models: unknown model "${m}" (one of ${MODEL_NAMES.join(", ")})`);
    const command = `npx dien experiment --data <ml-latest-small> --seeds ${o.seeds} --models ${models.join(",")} --epochs ${o.epochs} --batch ${o.batch} --lr ${o.lr}`;
    await runExperiment({ data: o.data, models: models as ModelName[], seeds: o.seeds, epochs: o.epochs, batch: o.batch, lr: o.lr, threads: o.threads, maxLen: o.maxLen, out: o.out, command });
  });

trainingOptions(
  program
    .command("compress")
    .description("Rocket Launching: train a light net beside a booster (shared embeddings, hint loss) and write both")
    .addOption(new Option("--model <name>", "zoo model of both nets (one with GRUs)").choices([...MODEL_NAMES]).default("dien")),
)
  .option("--booster-hidden <n>", "the booster's hidden width H", integer(1), 108)
  .option("--light-hidden <n>", "the light net's hidden width H", integer(1), 32)
  .option("--lambda <x>", "weight of the hint loss", nonNegative, 0.03)
  .addOption(new Option("--embeddings <who>", "what trains the shared embedding layer: both nets (joint, the paper's) or the booster alone, the light net only reading it").choices([...ROCKET_EMBEDDINGS]).default("joint"))
  .option("--out <file>", "where to write the light net", "light.safetensors")
  .option("--booster-out <file>", "where to write the booster (default: <out> with .booster before the extension)")
  .option("--baseline", "also train the light net alone with the same budget and report its AUC", false)
  .option("--validation <fraction>", "share of the training users (of the samples, without users) held out for early stopping: each net keeps its best epoch (0: none, train every epoch)", fraction, 0)
  .option("--patience <n>", "with a hold-out, stop once the light net's validation AUC has not improved for n epochs", integer(1), 2)
  .option("--skip-bad-lines", "count and report malformed lines instead of failing", false)
  .option("--json", "print one JSON object as the last line of stdout", false)
  .action(async (o) => {
    const data = await prepareData({ format: o.format as Format, train: o.train, test: o.test, split: o.split, seed: o.seed, skipBadLines: o.skipBadLines, maxLen: o.maxLen });
    try {
      const options = { model: o.model as ModelName, boosterHidden: o.boosterHidden, lightHidden: o.lightHidden, lambda: o.lambda, embeddings: o.embeddings as RocketEmbeddings, epochs: o.epochs, batch: o.batch, lr: o.lr, lrDecay: o.lrDecay, seed: o.seed, threads: o.threads, maxLen: o.maxLen, baseline: o.baseline, validation: o.validation, patience: o.patience };
      const bar = (name: string) => new SingleBar({ format: `${name.padEnd(11)} {bar} {percentage}% | step {value}/{total} | {speed} samples/s | loss {loss} | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, noTTYOutput: true, notTTYSchedule: 10_000 }, Presets.shades_classic);
      const result = await rocketLaunch(data, { ...options, bar });
      const boosterOut = o.boosterOut ?? String(o.out).replace(/(\.safetensors)?$/, ".booster$1");
      const report = await writeCompressed(result, options, o.out, boosterOut);
      process.stderr.write(`\n${report.text}\n`);
      if (o.json) console.log(JSON.stringify(report.json));
    } finally {
      data.close();
    }
  });

program
  .command("quantize")
  .description("write a quantised copy of a weight file (fp16, or int8 with a scale per row) and report its error")
  .requiredOption("--weights <file>", "float32 weight file")
  .addOption(new Option("--dtype <dtype>", "storage of the tables and weight matrices").choices(["fp16", "int8"]).makeOptionMandatory())
  .requiredOption("--out <file>", "where to write the quantised file")
  .option("--test <path>", "also compare test AUC on this file or folder")
  .addOption(new Option("--format <format>", "format of --test").choices(["dien", "din"]).default("dien"))
  .option("--json", "print one JSON object as the last line of stdout", false)
  .action(async (o) => {
    const report = await quantizeCommand({ weights: o.weights, dtype: o.dtype, out: o.out, test: o.test, format: o.format });
    process.stderr.write(`${report.text}\n`);
    if (o.json) console.log(JSON.stringify(report.json));
  });

program
  .command("serve")
  .description("serve POST /v1/score, /healthz, /readyz and /metrics over HTTP (SIGHUP reloads the weights, SIGTERM drains)")
  .requiredOption("--weights <file>", "weight file to serve")
  .option("--port <n>", "TCP port (0: any free port)", integer(0), 8080)
  .option("--host <address>", "address to bind (default: loopback only)", "127.0.0.1")
  .option("--threads <n>", "engine threads (0: one per hardware thread)", integer(0), 0)
  .addOption(new Option("--device <device>", "engine device").choices(["auto", "cpu", "cuda"]).default("auto"))
  .option("--max-batch <n>", "most requests merged into one native call", integer(1), 64)
  .option("--max-batch-candidates <n>", "most candidates in one native call (a batch's time is its members' latency)", integer(1), 2048)
  .option("--max-delay-ms <n>", "how long a request may wait for others while the model is idle", integer(0), 1)
  .option("--max-queue <n>", "requests that may wait; past it, 503 with Retry-After", integer(1), 1024)
  .option("--max-candidates <n>", "candidates per request", integer(1), 1000)
  .option("--max-history <n>", "history entries per request (the most recent maxLen are used)", integer(1), 1000)
  .option("--max-body-bytes <n>", "request body limit (413 past it)", integer(1024), 1 << 20)
  .option("--drain-timeout-ms <n>", "how long SIGTERM waits for requests in flight", integer(0), 30_000)
  .option("--log", "log every request (fastify's logger, JSON on stdout)", false)
  .addHelpText("after", "\nPOST /admin/reload is enabled when DIEN_ADMIN_TOKEN holds a token of 16+ characters (Authorization: Bearer <token>).")
  .action(async (o) => {
    const token = process.env.DIEN_ADMIN_TOKEN;
    await serveCommand({ ...o, ...(token ? { adminToken: token } : {}) });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`dien: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
