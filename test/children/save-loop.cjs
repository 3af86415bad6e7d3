// Saves a model and a checkpoint to the same two paths over and over, training between
// saves so that every version differs; the parent (test/faults.test.ts) kills it with
// SIGKILL at random moments. Prints "SAVED <kind> <n>" after each completed save.
"use strict";
const path = require("node:path");
const { lib } = require("./common.cjs");

const dir = process.argv[2];
(async () => {
  const model = await lib.DienModel.create({ model: "dien", itemVocab: 200000, catVocab: 50, userVocab: 100, maxLen: 20 }, { seed: 1, threads: 1 });
  const trainer = model.trainer();
  for (let n = 0; ; n++) {
    await trainer.step(lib.randomTrainBatch(model.config, 16, n));
    await model.save(path.join(dir, "model.safetensors"));
    process.stdout.write(`SAVED model ${n}\n`);
    await trainer.save(path.join(dir, "model.ckpt"));
    process.stdout.write(`SAVED checkpoint ${n}\n`);
  }
})();
