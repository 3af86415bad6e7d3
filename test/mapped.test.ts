// Mapped weight files (docs/model.md §12): load(path) maps the file; results equal a
// copied load; training never writes the file; a table larger than this process could
// read serves from a sparse multi-GB file; values of mapped tables are checked where used.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { DienModel, NonFiniteError, randomBatch, randomTrainBatch } from "../lib";
import { growItems, header } from "../bench/sparse-file";

const dir = mkdtempSync(path.join(tmpdir(), "dien-mapped-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CONFIG = { model: "dien", itemVocab: 1000, catVocab: 50, userVocab: 20, dItem: 16, dCat: 8, dUser: 8, hidden: 16, maxLen: 20 } as const;

describe("mapped weight files", () => {
  it("load(path) maps the file and scores exactly as a copied load", async () => {
    const file = path.join(dir, "m.safetensors");
    {
      using m = await DienModel.create(CONFIG, { seed: 3 });
      await m.save(file);
    }
    using mapped = await DienModel.load(file);
    using copied = await DienModel.load(file, { mmap: false });
    using fromBytes = await DienModel.load(readFileSync(file));
    expect(mapped.info().mapped).toBe(true);
    expect(copied.info().mapped).toBe(false);
    expect(fromBytes.info().mapped).toBe(false);
    const batch = randomBatch(mapped.config, 64, 5, 0);
    const expected = await copied.predict(batch);
    expect(await mapped.predict(batch)).toEqual(expected);
    expect(await fromBytes.predict(batch)).toEqual(expected);
    expect(Buffer.from(await mapped.toBuffer())).toEqual(readFileSync(file));
    await expect(DienModel.load(file, { mmap: "yes" } as never)).rejects.toThrow(new TypeError("options.mmap: expected a boolean but got string \"yes\""));
  });

  it("a training step changes the mapped model, never the file", async () => {
    const file = path.join(dir, "t.safetensors");
    {
      using m = await DienModel.create(CONFIG, { seed: 4 });
      await m.save(file);
    }
    const sha = () => createHash("sha256").update(readFileSync(file)).digest("hex");
    const before = sha();
    using model = await DienModel.load(file);
    const batch = randomBatch(model.config, 32, 6, 1);
    const p0 = await model.predict(batch);
    const trainer = model.trainer({ lr: 0.05 });
    for (let i = 0; i < 3; i++) await trainer.step(randomTrainBatch(model.config, 32, 10 + i));
    expect(await model.predict(batch)).not.toEqual(p0);
    expect(sha()).toBe(before);
    using again = await DienModel.load(file);
    expect(await again.predict(batch)).toEqual(p0);
  });

  it("a table larger than this machine's memory, in a sparse file, loads without being read and serves", async () => {
    const small = path.join(dir, "small.safetensors");
    {
      using m = await DienModel.create(CONFIG, { seed: 5 });
      await m.save(small);
    }
    const big = path.join(dir, "big.safetensors");
    // Rows of 16 floats (64 bytes), 1.25 x the machine's memory and at least 4 GiB.
    const items = Math.min(2 ** 31 - 1, Math.ceil(Math.max(4 * 2 ** 30, 1.25 * totalmem()) / 64));
    growItems(readFileSync(small), items, big);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    using model = await DienModel.load(big);
    const loadMs = performance.now() - t0;
    expect(model.info().mapped).toBe(true);
    expect(model.config.itemVocab).toBe(items);
    // Ids across the whole table. Each row read from the hole is a major fault, which
    // costs milliseconds on a slow virtual disk: a few dozen samples, not hundreds.
    const batch = randomBatch(model.config, 32, 7, 1);
    const p = await model.predict(batch);
    expect(p.every((x) => Number.isFinite(x) && x > 0 && x < 1)).toBe(true);
    const grew = process.memoryUsage().rss - rss0;
    console.log(`mapped ${((items * 64) / 2 ** 30).toFixed(1)} GiB table (memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB): loaded in ${loadMs.toFixed(1)} ms, resident memory grew ${(grew / 2 ** 20).toFixed(1)} MiB`);
    expect(grew).toBeLessThan(512 * 2 ** 20);
  });

  it("a non-finite value in a mapped table is found where the row is used; a copied load rejects the file", async () => {
    const file = path.join(dir, "nan.safetensors");
    {
      using m = await DienModel.create(CONFIG, { seed: 6 });
      await m.save(file);
    }
    const bytes = readFileSync(file);
    const { n, json } = header(bytes);
    const item = json["embedding.item.weight"] as { data_offsets: [number, number]; shape: number[] };
    bytes.writeFloatLE(Number.NaN, 8 + n + item.data_offsets[0] + 7 * item.shape[1]! * 4); // row 7
    const poisoned = path.join(dir, "nan2.safetensors");
    const fd = openSync(poisoned, "w");
    writeSync(fd, bytes);
    closeSync(fd);
    await expect(DienModel.load(poisoned, { mmap: false })).rejects.toThrow(/embedding\.item\.weight holds a non-finite value/);
    using model = await DienModel.load(poisoned);
    const batch = randomBatch(model.config, 4, 8, 1);
    expect((await model.predict(batch)).every(Number.isFinite)).toBe(true);
    batch.targetItem[2] = 7;
    await expect(model.predict(batch)).rejects.toThrow(NonFiniteError);
  });

  it("refuses anything but a regular file (a FIFO would block a thread for ever)", async () => {
    const fifo = path.join(dir, "fifo");
    const made = spawnSync("mkfifo", [fifo]);
    if (made.status !== 0) return; // no mkfifo here
    await expect(DienModel.load(fifo)).rejects.toMatchObject({ code: "DIEN_IO", message: expect.stringContaining("EINVAL") });
    await expect(DienModel.load(fifo, { mmap: false })).rejects.toMatchObject({ code: "DIEN_IO" });
    await expect(DienModel.load(dir)).rejects.toMatchObject({ code: "DIEN_IO", message: expect.stringContaining("EISDIR") });
  });
});
