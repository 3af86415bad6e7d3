// Compute runs off the event loop; dispose is safe with calls in flight.
import { describe, expect, it } from "vitest";

import { DienError, DienModel, paperDefaults, randomBatch } from "../lib";

describe("async behaviour", () => {
  it("the event loop keeps turning during a large predict", async () => {
    using model = await DienModel.create(paperDefaults(), { seed: 1 });
    const batch = randomBatch(model.config, 4096, 2);
    let turns = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const started = performance.now();
    const out = await model.predict(batch);
    done = true;
    const elapsed = performance.now() - started;
    expect(out).toHaveLength(4096);
    expect(elapsed).toBeGreaterThan(20); // long enough for the count to mean something
    expect(turns).toBeGreaterThan(20);
  });

  it("concurrent calls on one model all resolve with the sequential answers", async () => {
    using model = await DienModel.create({ itemVocab: 100, catVocab: 10, maxLen: 20 }, { seed: 5 });
    const batches = Array.from({ length: 6 }, (_, i) => randomBatch(model.config, 50 + i * 30, 10 + i, 0));
    const sequential: Float32Array[] = [];
    for (const b of batches) sequential.push(await model.predict(b));
    const concurrent = await Promise.all(batches.map((b) => model.predict(b)));
    expect(concurrent).toEqual(sequential);
  });

  it("dispose during a call lets it finish; later calls throw DIEN_DISPOSED", async () => {
    const model = await DienModel.create(paperDefaults(), { seed: 1 });
    const pending = model.predict(randomBatch(model.config, 512, 3));
    model.dispose();
    expect(model.disposed).toBe(true);
    expect(await pending).toHaveLength(512);
    await expect(model.predict(randomBatch(model.config, 1))).rejects.toThrow(DienError);
    await expect(model.predict(randomBatch(model.config, 1))).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
    expect(() => model.info()).toThrow(/disposed/);
    model.dispose(); // twice is fine
  });

  it("a save made before dispose() still completes", async () => {
    const model = await DienModel.create({ itemVocab: 100, catVocab: 10, maxLen: 20 }, { seed: 5 });
    const busy = model.predict(randomBatch(model.config, 2000, 1));
    const saved = model.toBuffer();
    model.dispose();
    await busy;
    expect((await saved).length).toBeGreaterThan(1000);
    await expect(model.toBuffer()).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
  });

  it("a config that needs too much scratch memory is a DIEN_BAD_CONFIG, not an out-of-memory kill", async () => {
    const err = await DienModel.create({ model: "base", itemVocab: 5, catVocab: 5, maxLen: 65536, dItem: 4096, dCat: 4096 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DIEN_BAD_CONFIG", message: expect.stringContaining("GiB of scratch memory") });
  });

  it("Symbol.dispose disposes at the end of a using block", async () => {
    let outer: DienModel | undefined;
    {
      using m = await DienModel.create({ itemVocab: 10, catVocab: 3, maxLen: 5 });
      outer = m;
      expect(m.disposed).toBe(false);
    }
    expect(outer.disposed).toBe(true);
  });
});
