// Scheduling: calls on one model queue in TypeScript (FIFO, one native call in flight),
// so however many are waiting, at most one libuv pool thread per model is busy and the
// process's fs, dns and crypto work keeps flowing. Options are checked like inputs;
// an AbortSignal drops a call that still waits.
import { pbkdf2 } from "node:crypto";
import { promises as fs } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Batch, DienModel, paperDefaults, randomBatch } from "../lib";

const pbkdf2Async = promisify(pbkdf2);
let model: DienModel;
let batch: Batch;

beforeAll(async () => {
  model = await DienModel.create(paperDefaults(), { seed: 1 });
  batch = randomBatch(model.config, 512, 3);
});
afterAll(() => model.dispose());

// Time until 4 file reads and 4 key derivations (libuv pool work, like dns lookups) are all done.
async function poolLatency(): Promise<number> {
  const t0 = performance.now();
  await Promise.all([
    ...Array.from({ length: 4 }, () => fs.readFile(__filename)),
    ...Array.from({ length: 4 }, (_, i) => pbkdf2Async(`secret ${i}`, "salt", 2000, 32, "sha256")),
  ]);
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Pool latency measured `probes` times while `inFlight` predicts are kept outstanding.
async function latencyUnderLoad(inFlight: number, probes: number): Promise<{ latency: number; predictMs: number }> {
  let stop = false;
  let done = 0;
  const t0 = performance.now();
  const keepBusy = async () => {
    while (!stop) {
      await model.predict(batch);
      done++;
    }
  };
  const workers = Array.from({ length: inFlight }, keepBusy);
  await new Promise((r) => setTimeout(r, 50)); // let the queue fill
  const samples: number[] = [];
  for (let i = 0; i < probes; i++) samples.push(await poolLatency());
  stop = true;
  await Promise.all(workers);
  return { latency: median(samples), predictMs: (performance.now() - t0) / Math.max(done, 1) };
}

describe("a per-model queue that leaves libuv's pool free", () => {
  it("64 concurrent predicts delay fs and crypto no more than 1 does", async () => {
    const one = await latencyUnderLoad(1, 7);
    const many = await latencyUnderLoad(64, 7);
    // Were each waiting predict to hold a pool thread, the probes would queue behind
    // dozens of predicts (about 64 x predictMs); with the queue they wait for none.
    const bound = Math.max(3 * one.latency, one.latency + 4 * one.predictMs, 60);
    console.log(`pool latency: ${one.latency.toFixed(1)} ms with 1 predict in flight, ${many.latency.toFixed(1)} ms with 64 (predict ${one.predictMs.toFixed(1)} ms, bound ${bound.toFixed(1)} ms)`);
    expect(many.latency, `pool latency ${many.latency.toFixed(1)} ms with 64 in flight vs ${one.latency.toFixed(1)} ms with 1 (a predict takes ${one.predictMs.toFixed(1)} ms)`).toBeLessThan(bound);
    expect(64 * one.predictMs).toBeGreaterThan(2 * bound); // the test can tell the two apart
  });

  it("runs calls in the order they were made and reports what waits", async () => {
    const order: number[] = [];
    const calls = Array.from({ length: 8 }, (_, i) => model.predict(randomBatch(model.config, 16, 20 + i)).then(() => order.push(i)));
    expect(model.pendingCalls).toBe(7);
    await Promise.all(calls);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(model.pendingCalls).toBe(0);
  });
});

describe("options are checked like inputs", () => {
  it.each([
    [{ logit: true }, 'options: unknown option "logit" (did you mean "logits"?)'],
    [{ signals: new AbortController().signal }, 'unknown option "signals"'],
    [{ outt: new Float32Array(1) }, 'unknown option "outt"'],
  ])("predict rejects %o", async (opts, message) => {
    await expect(model.predict(batch, opts as never)).rejects.toThrow(new TypeError(message).message);
    await expect(model.predict(batch, opts as never)).rejects.toBeInstanceOf(TypeError);
  });

  it("load and create reject unknown options", async () => {
    await expect(DienModel.create({ itemVocab: 5, catVocab: 2 }, { thread: 2 } as never)).rejects.toThrow(/unknown option "thread" \(did you mean "threads"\?\)/);
    await expect(DienModel.load(new Uint8Array(8), { devices: "cpu" } as never)).rejects.toThrow(TypeError);
    await expect(model.predict(batch, { signal: "stop" as never })).rejects.toThrow("options.signal: expected an AbortSignal but got string");
  });

  it("undefined values count as absent", async () => {
    expect(await model.predict(randomBatch(model.config, 2), { logits: undefined, out: undefined, signal: undefined })).toHaveLength(2);
  });
});

describe("AbortSignal", () => {
  it("drops calls that still wait and rejects them with an AbortError; running calls finish", async () => {
    const controller = new AbortController();
    const first = model.predict(batch, { signal: controller.signal });
    const waiting = Array.from({ length: 5 }, () => model.predict(batch, { signal: controller.signal }).catch((e: unknown) => e));
    const other = model.predict(randomBatch(model.config, 4, 9));
    controller.abort(new Error("user navigated away"));
    expect(await first).toHaveLength(512); // already running: finishes
    for (const w of waiting) {
      const err = await w;
      expect(err).toMatchObject({ name: "AbortError" });
      expect((err as Error & { cause?: unknown }).cause).toEqual(new Error("user navigated away"));
    }
    expect(await other).toHaveLength(4); // calls behind the aborted ones still run
  });

  it("one signal shared by many calls adds one listener (no MaxListeners warning)", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    const controller = new AbortController();
    const calls = Array.from({ length: 40 }, () => model.predict(randomBatch(model.config, 4, 5), { signal: controller.signal }));
    expect((await Promise.all(calls)).every((p) => p.length === 4)).toBe(true);
    await new Promise((r) => setImmediate(r));
    process.off("warning", onWarning);
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });

  it("an already aborted signal rejects at once", async () => {
    await expect(model.predict(batch, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
    await expect(model.scoreCandidates({ histItem: Int32Array.of(1), histCat: Int32Array.of(1), user: 0 }, { items: Int32Array.of(1), cats: Int32Array.of(1) }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: "AbortError" });
  });
});
