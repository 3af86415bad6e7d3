/**
 * Same-user batching (docs/model.md §15): K candidates per user scored by scoreRequests,
 * which runs each history once, against predict on the expanded batch (one sample per
 * candidate), at paper defaults. Prints the FLOP ratio the sharing allows and the
 * measured speed-up (medians), docs/performance.md.
 *   node dist/bench/requests.js [--users 16] [--candidates 100] [--length 100] [--threads 0]
 */
import { parseArgs } from "node:util";

import { DienModel, type ScoreRequest, paperDefaults } from "../lib";
import type { ModelConfig } from "../lib/config";
import { flopsPerSample } from "./bench";

/**
 * The part of flopsPerSample that depends only on the history, done once per user when
 * its candidates are scored together: the extractor GRU, the evolution GRU's input
 * projections and the key half of the attention's first layer.
 */
export function sharedFlops(c: Pick<ModelConfig, "dItem" | "dCat" | "hidden" | "attentionHidden">, L: number): number {
  const E = c.dItem + c.dCat;
  const H = c.hidden;
  const firstAttention = c.attentionHidden.length > 0 ? c.attentionHidden[0]! : 1;
  return L * (2 * E * 3 * H + 2 * H * 3 * H) + L * 2 * H * 3 * H + L * 2 * H * firstAttention;
}

async function median(reps: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 2; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: "string", default: "16" },
      candidates: { type: "string", default: "100" },
      length: { type: "string", default: "100" },
      threads: { type: "string", default: "0" },
      reps: { type: "string", default: "15" },
    },
  });
  const R = Number(values.users), K = Number(values.candidates), L = Number(values.length), reps = Number(values.reps);
  using model = await DienModel.create(paperDefaults(), { seed: 1, threads: Number(values.threads) });
  const c = model.config;
  const T = c.maxLen;
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n) | 0;
  const requests: ScoreRequest[] = [];
  const batch = { targetItem: new Int32Array(R * K), targetCat: new Int32Array(R * K), histItem: new Int32Array(R * K * T), histCat: new Int32Array(R * K * T), histLen: new Int32Array(R * K).fill(L), user: new Int32Array(R * K) };
  for (let r = 0; r < R; r++) {
    const histItem = Int32Array.from({ length: L }, () => rand(c.itemVocab));
    const histCat = Int32Array.from({ length: L }, () => rand(c.catVocab));
    const items = Int32Array.from({ length: K }, () => rand(c.itemVocab));
    const cats = Int32Array.from({ length: K }, () => rand(c.catVocab));
    const user = rand(Math.max(c.userVocab, 1));
    requests.push({ history: { histItem, histCat, ...(c.userVocab > 0 ? { user } : {}) }, candidates: { items, cats } });
    for (let k = 0; k < K; k++) {
      const s = r * K + k;
      batch.targetItem[s] = items[k]!;
      batch.targetCat[s] = cats[k]!;
      batch.user[s] = user;
      batch.histItem.set(histItem, s * T);
      batch.histCat.set(histCat, s * T);
    }
  }
  const full = flopsPerSample(c, L);
  const shared = sharedFlops(c, L);
  const perCandidate = full - shared + shared / K;
  const expanded = c.userVocab > 0 ? batch : { ...batch, user: undefined };
  const tPredict = await median(reps, () => model.predict(expanded));
  const tRequests = await median(reps, () => model.scoreRequests(requests));
  const ratio = full / perCandidate;
  const speedup = tPredict / tRequests;
  console.log(`same-user batching: ${R} users x K=${K} candidates, history length ${L}, H=${c.hidden}, threads=${model.info().threads}`);
  console.log(`FLOPs per candidate: ${(full / 1e6).toFixed(3)} M without sharing, ${(perCandidate / 1e6).toFixed(3)} M with it; ratio ${ratio.toFixed(2)}x`);
  console.log(`predict (expanded batch of ${R * K}): ${tPredict.toFixed(2)} ms, ${Math.round((R * K) / tPredict * 1000)} candidates/s`);
  console.log(`scoreRequests:                   ${tRequests.toFixed(2)} ms, ${Math.round((R * K) / tRequests * 1000)} candidates/s`);
  console.log(`measured speed-up ${speedup.toFixed(2)}x = ${((speedup / ratio) * 100).toFixed(0)}% of the FLOP ratio (target >= 90%)`);
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
