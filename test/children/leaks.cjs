// Memory after many calls, against memory after a warm-up (test/faults.test.ts): RSS and
// V8's external memory, each measured after a full GC. Run with --expose-gc.
//   node --expose-gc leaks.cjs <predicts> <steps> <loads>
"use strict";
const { lib, run } = require("./common.cjs");

const [predicts, steps, loads] = process.argv.slice(2).map(Number);

// Node-API finalizers run after a GC, from the event loop: let them run before measuring.
async function memory() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, external: m.external + m.arrayBuffers };
}

run(async () => {
  const config = { model: "dien", itemVocab: 5000, catVocab: 50, userVocab: 100, maxLen: 30 };
  const model = await lib.DienModel.create(config, { seed: 1, threads: 1 });
  const batch = lib.randomBatch(model.config, 8, 1, 1);
  const trainBatch = lib.randomTrainBatch(model.config, 16, 2);
  const trainer = model.trainer();
  const bytes = await model.toBuffer();
  const phases = {};
  const measure = async (name, n, warm, fn) => {
    for (let i = 0; i < warm; i++) await fn(i);
    const before = await memory();
    for (let i = 0; i < n; i++) await fn(i);
    const after = await memory();
    phases[name] = { calls: n, rssBefore: before.rss, rssAfter: after.rss, externalBefore: before.external, externalAfter: after.external };
  };
  await measure("predict", predicts, Math.min(5000, predicts), () => model.predict(batch));
  await measure("train", steps, Math.min(200, steps), () => trainer.step(trainBatch));
  // Each cycle allocates and frees a few MB (the weights' copy, the engine's workspace),
  // and the allocator takes some hundred cycles to settle where it keeps such blocks: a
  // bounded step (after 100 warm-up cycles: +0.9-5 % here, +9 % once in CI; +0.7-1.0 %
  // with glibc's mmap threshold pinned). 300 warm-up cycles cover it; a leak grows past.
  await measure("load", loads, Math.min(300, loads), async () => {
    const m = await lib.DienModel.load(bytes, { threads: 1 });
    await m.predict(batch);
    m.dispose();
  });
  model.dispose();
  return phases;
});
