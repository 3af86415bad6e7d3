// The addon keeps its per-environment state with SetInstanceData, so it loads and
// runs in worker threads next to the main thread.
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";

import { DienModel, randomBatch } from "../lib";

const script = `
const { parentPort, workerData } = require("node:worker_threads");
const { DienModel, randomBatch } = require(workerData.lib);
(async () => {
  const m = await DienModel.create({ itemVocab: 30, catVocab: 5, maxLen: 8 }, { seed: 4, threads: 1 });
  const p = await m.predict(randomBatch(m.config, 16, 2, 0));
  m.dispose();
  parentPort.postMessage(Array.from(p));
})().catch((e) => parentPort.postMessage({ error: String(e) }));
`;

describe("worker threads", () => {
  it("two workers and the main thread score the same batch identically", async () => {
    const lib = path.join(__dirname, "..", "dist", "lib", "index.js");
    const run = () =>
      new Promise<number[]>((resolve, reject) => {
        const w = new Worker(script, { eval: true, workerData: { lib } });
        w.once("message", (m: unknown) => (Array.isArray(m) ? resolve(m as number[]) : reject(new Error(JSON.stringify(m)))));
        w.once("error", reject);
      });
    const [a, b] = await Promise.all([run(), run()]);
    using m = await DienModel.create({ itemVocab: 30, catVocab: 5, maxLen: 8 }, { seed: 4, threads: 1 });
    const main = Array.from(await m.predict(randomBatch(m.config, 16, 2, 0)));
    expect(a).toEqual(main);
    expect(b).toEqual(main);
  });
});
