/**
 * `dien quantize`: a quantised copy of a weight file (docs/model.md §12, "Quantised
 * files") and how far it is from the float model: on a seeded random batch of the
 * model's own config always, and in test AUC when a test file is given.
 */
import { statSync } from "node:fs";

import { DienModel, type WeightDtype } from "../model";
import { randomBatch } from "../synthetic";
import { newReport } from "../data/formats";
import { findBeside, namedVocabFile } from "../vocab-file";
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
    /**
     * The weight files' sizes and their ratio; where either keeps its vocabularies in a
     * file of their own, `withVocab` counts each file with the vocabulary file it names.
     */
    bytes: { float32: number; quantized: number; ratio: number; withVocab?: { float32: number; quantized: number; ratio: number } };
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
  // The vocabulary file each weight file names (both loaded, so both are there).
  const vocabBytes = (file: string) => {
    const name = namedVocabFile(file);
    return name === undefined ? 0 : Math.max(0, findBeside(file, name).size);
  };
  const [vf, vq] = [vocabBytes(o.weights), vocabBytes(o.out)];
  if (vf + vq > 0) bytes.withVocab = { float32: bytes.float32 + vf, quantized: bytes.quantized + vq, ratio: (bytes.float32 + vf) / (bytes.quantized + vq) };
  const json: QuantizeReport["json"] = {
    dtype: o.dtype,
    bytes,
    error: { maxAbsProbability: maxAbs, meanAbsProbability: sumAbs / lf.length, relativeLogit: Math.sqrt(num / Math.max(den, 1e-30)) },
  };
  const lines = [
    `${o.dtype}: ${o.out}, ${bytes.quantized} bytes (${bytes.ratio.toFixed(2)}x smaller than ${bytes.float32})` +
      (bytes.withVocab ? `; with the vocabulary files they name, ${bytes.withVocab.quantized} and ${bytes.withVocab.float32} bytes (${bytes.withVocab.ratio.toFixed(2)}x)` : ""),
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
