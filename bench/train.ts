/**
 * Training throughput (part of `npm run bench`): samples/s of one Adam step at paper
 * defaults (dien, augru, mlp attention, dice, aux net on; B = 128, T = 100, lengths
 * uniform in 1..100), median of repeated steps, with the FLOP split of docs/performance.md.
 *   node dist/bench/train.js [--batch 128] [--steps 20] [--threads 0]
 */
import { parseArgs } from "node:util";

import { DienModel, paperDefaults, randomTrainBatch } from "../lib";
import type { ModelConfig } from "../lib";
import { stackFlops } from "./bench";

/** Matmul FLOPs of one sample's training step: forward, backward (2x forward), and the engine's recomputed forward. */
export function trainFlops(c: ModelConfig, L: number): { forward: number; backward: number; recompute: number } {
  const E = c.dItem + c.dCat;
  const H = c.hidden;
  const gru = (input: number) => 2 * L * (input * 3 * H + H * 3 * H);
  const sequence = gru(E) + gru(H) + 2 * E * H + L * stackFlops(4 * H, c.attentionHidden);
  const aux = c.auxAlpha > 0 ? 2 * Math.max(L - 1, 0) * stackFlops(H + E, c.auxHidden) : 0;
  const head = stackFlops(c.dUser + 3 * E + H, c.mlpHidden);
  const forward = sequence + aux + head;
  return { forward, backward: 2 * forward, recompute: sequence };
}

export async function benchTraining(opts: { batch?: number; steps?: number; threads?: number } = {}): Promise<{ samplesPerSec: number; medianMs: number; gflops: number }> {
  const B = opts.batch ?? 128;
  const steps = opts.steps ?? 20;
  using model = await DienModel.create(paperDefaults(), { seed: 1, threads: opts.threads ?? 0 });
  const trainer = model.trainer();
  const batches = Array.from({ length: 4 }, (_, i) => randomTrainBatch(model.config, B, 500 + i));
  let fwd = 0;
  let bwd = 0;
  let rec = 0;
  for (const L of batches[0]!.histLen) {
    const f = trainFlops(model.config, L);
    fwd += f.forward;
    bwd += f.backward;
    rec += f.recompute;
  }
  for (let i = 0; i < 3; i++) await trainer.step(batches[i % batches.length]!);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const b = batches[i % batches.length]!;
    const t0 = performance.now();
    await trainer.step(b);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)]!;
  const gflops = (fwd + bwd) / med / 1e6;
  console.log(`dien training benchmark: dien (augru, mlp attention, dice, aux mlp), E=36 H=36 T=100, B=${B}, threads=${model.info().threads}`);
  console.log(`  step median ${med.toFixed(2)} ms (min ${times[0]!.toFixed(2)}, max ${times[times.length - 1]!.toFixed(2)}), ${Math.round((B / med) * 1000)} samples/s`);
  console.log(
    `  matmul FLOPs per step: forward ${(fwd / 1e9).toFixed(3)} G, backward ${(bwd / 1e9).toFixed(3)} G (+ recomputed sequence forward ${(rec / 1e9).toFixed(3)} G); useful ${gflops.toFixed(1)} GFLOP/s`,
  );
  return { samplesPerSec: (B / med) * 1000, medianMs: med, gflops };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { batch: { type: "string", default: "128" }, steps: { type: "string", default: "20" }, threads: { type: "string", default: "0" } } });
  benchTraining({ batch: Number(values.batch), steps: Number(values.steps), threads: Number(values.threads) }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
