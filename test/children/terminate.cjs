// Terminates worker threads while their calls are in flight (predict, scoreCandidates,
// load, create, save): the environment is torn down under a running native call, which
// must never take the process with it.
//   node terminate.cjs <rounds>
"use strict";
const path = require("node:path");
const { Worker } = require("node:worker_threads");
const { run } = require("./common.cjs");

const rounds = Number(process.argv[2]);
const worker = `
const { parentPort, workerData } = require("node:worker_threads");
const { lib, smallModel } = require(workerData.common);
(async () => {
  const model = await smallModel();
  const batch = lib.randomBatch(model.config, 2048, 3, 0);
  const bytes = await model.toBuffer();
  parentPort.postMessage("ready");
  for (;;) {
    const work = [model.predict(batch), model.scoreCandidates({ histItem: batch.histItem.subarray(0, 40), histCat: batch.histCat.subarray(0, 40), user: 1 }, { items: batch.targetItem, cats: batch.targetCat }), lib.DienModel.load(bytes).then((m) => m.dispose()), model.toBuffer(), lib.DienModel.create({ itemVocab: 50000, catVocab: 100 })];
    await Promise.all(work);
  }
})();
`;

run(async () => {
  let terminated = 0;
  for (let i = 0; i < rounds; i++) {
    const w = new Worker(worker, { eval: true, workerData: { common: path.join(__dirname, "common.cjs") } });
    await new Promise((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
    await new Promise((r) => setTimeout(r, (i * 7) % 23));
    await w.terminate();
    terminated++;
  }
  // The main thread still works after all that.
  const { lib, smallModel } = require("./common.cjs");
  const model = await smallModel();
  const out = await model.predict(lib.randomBatch(model.config, 8));
  model.dispose();
  return { terminated, finalLength: out.length };
});
