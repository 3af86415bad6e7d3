/**
 * `dien quantize`: a quantised copy of a weight file (docs/model.md §12, "Quantised
 * files") and how far it is from the float model: on a seeded random batch of the
 * model's own config always, and in test AUC when a test file is given.
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";

import { DienModel, type WeightDtype } from "../model";
import { randomBatch } from "../synthetic";
import { newReport } from "../data/formats";
import { type Format, type TestMetrics, evaluate, streamDataset } from "./pipeline";

export interface QuantizeOptions {
  weights: string;
  dtype: Exclude<WeightDtype, "float32">;
  out: string;
  test?: string;
  format?: "dien" | "din";
}

export interface QuantizeReport {
  text: string;
  json: {
    dtype: string;
    /** The weight files' sizes; vocabularies kept in a file of their own (the same for both) are not counted: `vocabulary`. */
    bytes: { float32: number; quantized: number; ratio: number; vocabulary?: number };
    /** On 4096 random samples of the model's config (seed 1): probabilities and logits. */
    error: { maxAbsProbability: number; meanAbsProbability: number; relativeLogit: number };
    test?: { float32: TestMetrics; quantized: TestMetrics };
  };
}

export async function quantizeCommand(o: QuantizeOptions): Promise<QuantizeReport> {
  using float = await DienModel.load(o.weights);
  await float.save(o.out, { dtype: o.dtype });
  using quantized = await DienModel.load(o.out);
  const batch = randomBatch(float.config, 4096, 1, 1);
  const [lf, lq] = [await float.predict(batch, { logits: true }), await quantized.predict(batch, { logits: true })];
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z)); // the engine's probability, in double
  let maxAbs = 0;
  let sumAbs = 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < lf.length; i++) {
    const d = Math.abs(sigmoid(lf[i]!) - sigmoid(lq[i]!));
    maxAbs = Math.max(maxAbs, d);
    sumAbs += d;
    num += (lf[i]! - lq[i]!) ** 2;
    den += lf[i]! ** 2;
  }
  const bytes: QuantizeReport["json"]["bytes"] = { float32: statSync(o.weights).size, quantized: statSync(o.out).size, ratio: 0 };
  bytes.ratio = bytes.float32 / bytes.quantized;
  const vocabFile = readdirSync(path.dirname(path.resolve(o.out))).find((n) => n.startsWith(`${path.basename(o.out)}.vocab-`) && n.endsWith(".json"));
  if (vocabFile) bytes.vocabulary = statSync(path.join(path.dirname(path.resolve(o.out)), vocabFile)).size;
  const json: QuantizeReport["json"] = {
    dtype: o.dtype,
    bytes,
    error: { maxAbsProbability: maxAbs, meanAbsProbability: sumAbs / lf.length, relativeLogit: Math.sqrt(num / Math.max(den, 1e-30)) },
  };
  const lines = [
    `${o.dtype}: ${o.out}, ${bytes.quantized} bytes (${bytes.ratio.toFixed(2)}x smaller than ${bytes.float32})` +
      (vocabFile ? `; its vocabularies are in ${vocabFile} (${bytes.vocabulary} bytes, as large for both, not counted)` : ""),
    `on 4096 random samples: |p - p_float| max ${maxAbs.toExponential(2)}, mean ${json.error.meanAbsProbability.toExponential(2)}; logits' relative error ${json.error.relativeLogit.toExponential(2)}`,
  ];
  if (o.test) {
    const format: Format = o.format ?? "dien";
    const test = async (m: DienModel) => evaluate(m, streamDataset(o.test!, format, false, newReport()));
    json.test = { float32: await test(float), quantized: await test(quantized) };
    lines.push(`test AUC: float32 ${json.test.float32.auc.toFixed(4)}, ${o.dtype} ${json.test.quantized.auc.toFixed(4)} (${json.test.quantized.n} samples)`);
  }
  return { text: lines.join("\n"), json };
}
