// Many concurrent callers against sequential replays (test/concurrency.test.ts): on one
// model, a mix of predict, scoreRequests and training steps fired all at once must give
// exactly the results of the same calls made one by one on a twin model (the model's
// queue keeps call order). The main thread and worker threads do this at the same time,
// and two more workers are terminated in the middle of their calls.
//   node concurrency.cjs <calls on the main thread> <workers> <calls per worker>
"use strict";
const path = require("node:path");
const { Worker, isMainThread, parentPort, workerData } = require("node:worker_threads");

const lib = require(path.join(__dirname, "..", "..", "dist", "lib"));
const CONFIG = { model: "dien", itemVocab: 400, catVocab: 20, userVocab: 30, maxLen: 20 };

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** n calls (2 % training steps) concurrently on one model and one by one on its twin. */
async function compare(n, seed) {
  const [a, b] = [await lib.DienModel.create(CONFIG, { seed, threads: 1 }), await lib.DienModel.create(CONFIG, { seed, threads: 1 })];
  const batches = Array.from({ length: 8 }, (_, i) => lib.randomBatch(a.config, 1 + i, seed + i, 0));
  const trainBatches = Array.from({ length: 4 }, (_, i) => lib.randomTrainBatch(a.config, 8, seed + 100 + i));
  const requests = batches.map((x) => [{ history: { histItem: x.histItem.subarray(0, x.histLen[0]), histCat: x.histCat.subarray(0, x.histLen[0]), user: x.user[0] }, candidates: { items: x.targetItem, cats: x.targetCat } }]);
  const [ta, tb] = [a.trainer({ lr: 0.01 }), b.trainer({ lr: 0.01 })];
  const ops = Array.from({ length: n }, (_, i) => {
    const k = (i * 2654435761) >>> 0;
    return k % 50 === 0 ? ["step", k % 4] : k % 3 === 0 ? ["requests", k % 8] : ["predict", k % 8];
  });
  const call = (m, t, [kind, k]) => (kind === "step" ? t.step(trainBatches[k]).then((r) => [r.loss]) : kind === "requests" ? m.scoreRequests(requests[k]).then((r) => r[0]) : m.predict(batches[k]));
  const concurrent = await Promise.all(ops.map((op) => call(a, ta, op)));
  let mismatches = 0;
  for (let i = 0; i < n; i++) if (!sameBits(concurrent[i], await call(b, tb, ops[i]))) mismatches++;
  a.dispose();
  b.dispose();
  return { calls: n, steps: ops.filter((o) => o[0] === "step").length, mismatches };
}

if (!isMainThread) {
  if (workerData.terminate) {
    (async () => {
      const m = await lib.DienModel.create(CONFIG, { seed: 9, threads: 1 });
      const batch = lib.randomBatch(m.config, 512, 1, 0);
      parentPort.postMessage("ready");
      for (;;) await Promise.all([m.predict(batch), m.predict(batch), m.trainer().step(lib.randomTrainBatch(m.config, 64, 2))]);
    })();
  } else compare(workerData.calls, workerData.seed).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e.stack ?? e) }));
} else {
  const { run } = require("./common.cjs");
  const [calls, workers, perWorker] = process.argv.slice(2).map(Number);
  run(async () => {
    const spawnWorker = (data) => new Worker(__filename, { workerData: data });
    const results = Array.from({ length: workers }, (_, i) => {
      const w = spawnWorker({ calls: perWorker, seed: 10 + i });
      return new Promise((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      });
    });
    const terminated = Array.from({ length: 2 }, async () => {
      const w = spawnWorker({ terminate: true });
      await new Promise((resolve) => w.once("message", resolve));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return w.terminate();
    });
    const main = await compare(calls, 1);
    return { main, workers: await Promise.all(results), terminated: (await Promise.all(terminated)).length };
  });
}
