/**
 * `npm run bench`: samples/s and latency through the Node API at paper defaults
 * (docs/performance.md), B = 1, 128, 1024, median of repeated runs. The native benchmark
 * binary (build/dien_bench) prints the same without Node.
 *   node dist/bench/bench.js [--hidden 36] [--threads 0] [--batches 1,128,1024]
 */
import { parseArgs } from "node:util";

import { DienModel, paperDefaults, randomBatch } from "../lib";

/** Forward FLOPs of a stack of layers input -> hidden... -> 1 (a multiply-add counts 2). */
export function stackFlops(input: number, hidden: number[]): number {
  let f = 0;
  let prev = input;
  for (const w of hidden) {
    f += 2 * prev * w;
    prev = w;
  }
  return f + 2 * prev;
}

/** Forward FLOPs of one sample of history length L, as docs/performance.md counts them. */
export function flopsPerSample(c: { dItem: number; dCat: number; dUser: number; hidden: number; attentionHidden: number[]; mlpHidden: number[] }, L: number): number {
  const E = c.dItem + c.dCat;
  const H = c.hidden;
  const att = stackFlops(4 * H, c.attentionHidden);
  const mlp = stackFlops(c.dUser + 3 * E + H, c.mlpHidden);
  return L * (2 * E * 3 * H + 2 * H * 3 * H) + 2 * E * H + L * att + L * 4 * H * 3 * H + mlp;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { hidden: { type: "string", default: "36" }, threads: { type: "string", default: "0" }, batches: { type: "string", default: "1,128,1024" } },
  });
  const hidden = Number(values.hidden);
  const threads = Number(values.threads);
  const batches = values.batches.split(",").map(Number);
  using model = await DienModel.create(paperDefaults({ hidden }), { seed: 1, threads });
  const info = model.info();
  console.log(`dien Node benchmark: dien (augru, mlp attention, dice), E=36 H=${hidden} T=100, backend ${info.backend}, threads=${info.threads}`);
  console.log(`${"batch".padStart(8)} ${"samples/s".padStart(12)} ${"latency ms".padStart(12)} ${"GFLOP/s".padStart(9)} ${"min-max ms".padStart(16)}`);
  for (const B of batches) {
    const batch = randomBatch(model.config, B, 1000 + B);
    const out = new Float32Array(B);
    let flops = 0;
    for (const L of batch.histLen) flops += flopsPerSample(model.config, L);
    const reps = Math.max(5, Math.min(200, Math.floor(20000 / B)));
    for (let i = 0; i < 3; i++) await model.predict(batch, { out });
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await model.predict(batch, { out });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)]!;
    console.log(
      `${String(B).padStart(8)} ${Math.round((B / med) * 1000).toString().padStart(12)} ${med.toFixed(4).padStart(12)} ${(flops / med / 1e6).toFixed(2).padStart(9)} ${`${times[0]!.toFixed(3)}-${times[times.length - 1]!.toFixed(3)}`.padStart(16)}`,
    );
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
