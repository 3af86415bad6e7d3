/**
 * One weight file's serving cost, measured in a fresh process so that its resident memory
 * is its own (bench/compression.ts runs it once per file): load time (the addon already
 * loaded), resident memory growth over loading the addon and the file and scoring, and CPU
 * throughput at B = 1024 and B = 1 (medians), on a seeded
 * batch of the model's own config with lengths uniform in 1..maxLen; and, for a file with
 * vocabularies, the time `loadVocab()` takes and the longest the event loop stalled meanwhile.
 *   node dist/bench/compression-probe.js <file> [--threads 0]
 * Prints one JSON object.
 */
import { parseArgs } from "node:util";

import { DienModel, cudaStatus, randomBatch } from "../lib";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { threads: { type: "string", default: "0" } } });
  const file = positionals[0];
  if (!file) throw new TypeError("usage: compression-probe <weight file> [--threads n]");
  const rss0 = process.memoryUsage().rss;
  cudaStatus(); // loads the addon: the load time below is the model's alone
  let t0 = performance.now();
  using model = await DienModel.load(file, { threads: Number(values.threads) });
  const loadMs = performance.now() - t0;
  const big = randomBatch(model.config, 1024, 7, 1);
  const one = randomBatch(model.config, 1, 8, model.config.maxLen);
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    t0 = performance.now();
    await model.predict(big);
    if (i >= 2) times.push(performance.now() - t0);
  }
  const latency: number[] = [];
  for (let i = 0; i < 300; i++) {
    t0 = performance.now();
    await model.predict(one);
    if (i >= 20) latency.push(performance.now() - t0);
  }
  const rss = process.memoryUsage().rss;
  const info = model.info();
  // Last, after the memory reading: loadVocab() reads vocabularies kept in a file of their
  // own, off the event loop; a 5 ms timer measures how long the loop stalls meanwhile.
  let last = performance.now();
  let vocabLagMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    vocabLagMs = Math.max(vocabLagMs, now - last - 5);
    last = now;
  }, 5);
  t0 = performance.now();
  const vocab = await model.loadVocab();
  const vocabMs = vocab === undefined ? undefined : performance.now() - t0;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(timer);
  console.log(
    JSON.stringify({
      file,
      loadMs,
      samplesPerSecond: 1024 / (median(times) / 1000),
      latencyMs: median(latency),
      rssMiB: rss / 2 ** 20,
      rssGrowthMiB: (rss - rss0) / 2 ** 20,
      weightBytes: info.weightBytes,
      threads: info.threads,
      vocabMs,
      ...(vocabMs === undefined ? {} : { vocabLagMs }),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
