/**
 * One engine of `npm run bench:peers`, in its own process so that its peak RSS is its
 * own. `node dist/bench/peer-worker.js dien|ort WORKDIR check|time`: reads
 * WORKDIR/batches.json and inputs-B.bin, writes ENGINE-B.f32 (probabilities) in
 * check mode, ENGINE.json (timings, peak RSS) in time mode.
 */
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

import { DienModel } from "../lib";

export interface PlanEntry {
  batch: number;
  reps: number;
}
export interface Inputs {
  targetItem: Int32Array;
  targetCat: Int32Array;
  histItem: Int32Array;
  histCat: Int32Array;
  histLen: Int32Array;
  user: Int32Array;
}
export interface EngineResult {
  results: { batch: number; timesMs: number[] }[];
  peakRssMb: number;
  settings: string;
}

export const T = 100;

export function readInputs(work: string, B: number): Inputs {
  const raw = readFileSync(path.join(work, `inputs-${B}.bin`));
  const all = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  let at = 0;
  const take = (n: number) => all.subarray(at, (at += n));
  return { targetItem: take(B), targetCat: take(B), histItem: take(B * T), histCat: take(B * T), histLen: take(B), user: take(B) };
}

type Runner = (x: Inputs) => Promise<Float32Array>;

async function dienRunner(work: string): Promise<{ run: Runner; settings: string }> {
  const model = await DienModel.load(path.join(work, "model.safetensors"), { device: "cpu" });
  const info = model.info();
  return { run: (x) => model.predict(x), settings: `dien ${info.backend}, threads=${info.threads}` };
}

async function ortRunner(work: string): Promise<{ run: Runner; settings: string }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require("onnxruntime-node") as typeof import("onnxruntime-node");
  const threads = 2;
  const session = await ort.InferenceSession.create(path.join(work, "model.onnx"), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const run: Runner = async (x) => {
    const B = x.targetItem.length;
    const feeds = {
      targetItem: new ort.Tensor("int32", x.targetItem, [B]),
      targetCat: new ort.Tensor("int32", x.targetCat, [B]),
      histItem: new ort.Tensor("int32", x.histItem, [B, T]),
      histCat: new ort.Tensor("int32", x.histCat, [B, T]),
      histLen: new ort.Tensor("int32", x.histLen, [B]),
      user: new ort.Tensor("int32", x.user, [B]),
    };
    const out = await session.run(feeds);
    const logits = out.logit!.data as Float32Array;
    return logits.map((l) => 1 / (1 + Math.exp(-l)));
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require("onnxruntime-node/package.json") as { version: string }).version;
  return { run, settings: `onnxruntime-node ${version}, CPU EP, intraOpNumThreads=${threads}, graphOptimizationLevel=all, int32 inputs` };
}

async function main(): Promise<void> {
  const [engine, work, mode] = process.argv.slice(2) as [string, string, string];
  const plan = JSON.parse(readFileSync(path.join(work, "batches.json"), "utf8")) as PlanEntry[];
  const { run, settings } = engine === "ort" ? await ortRunner(work) : await dienRunner(work);
  const results: EngineResult["results"] = [];
  for (const { batch, reps } of plan) {
    const x = readInputs(work, batch);
    if (mode === "check") {
      const p = await run(x);
      writeFileSync(path.join(work, `${engine}-${batch}.f32`), Buffer.from(p.buffer, p.byteOffset, p.byteLength));
      continue;
    }
    for (let i = 0; i < 3; i++) await run(x);
    const timesMs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await run(x);
      timesMs.push(performance.now() - t0);
    }
    results.push({ batch, timesMs });
  }
  if (mode === "time") {
    const result: EngineResult = { results, peakRssMb: process.resourceUsage().maxRSS / 1024, settings };
    writeFileSync(path.join(work, `${engine}.json`), JSON.stringify(result));
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
