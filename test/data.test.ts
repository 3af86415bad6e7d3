// The data pipeline (docs/model.md §13): the original formats' readers on byte-exact
// fixtures, the MovieLens protocol, vocabularies, negatives and batches. Tests that read
// ../shared/data skip with a message when it is absent.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import {
  BadDataError,
  NegativeSampler,
  SampleStore,
  memorySource,
  type Sample,
  Vocabulary,
  buildVocabularies,
  encodeSamples,
  epochBatches,
  loadMovieLens,
  newReport,
  readSamples,
  vocabulariesFromJson,
  vocabulariesToJson,
} from "../lib";

const SHARED = path.join(__dirname, "..", "..", "shared", "data");
const FORMATS = path.join(SHARED, "format-fixtures");
const MOVIELENS = path.join(SHARED, "ml-latest-small");
const hasShared = existsSync(FORMATS) && existsSync(MOVIELENS);
if (!hasShared) console.warn(`data tests: ${SHARED} is absent; the real-data tests are skipped`);

async function collect(it: AsyncIterable<Sample>): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of it) out.push(s);
  return out;
}

function tempFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "dien-data-")), "data.txt");
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!hasShared)("readers on the original formats", () => {
  it("reads the original DIEN files (\\x02 histories, CRLF) exactly", async () => {
    const test = await collect(readSamples(path.join(FORMATS, "amazon-books-dien", "local_test"), "dien"));
    expect(test.length).toBe(38);
    expect(test[0]).toEqual({ label: 0, user: "A38AAPXSJN4C5G", item: "0001714384", cat: "Books", histItems: ["0000015393", "0000230022"], histCats: ["default_cat", "Books"] });
    expect(test.every((s) => s.histItems.length === s.histCats.length && !s.cat.endsWith("\r"))).toBe(true);
    const train = await collect(readSamples(path.join(FORMATS, "amazon-books-dien", "local_train"), "dien"));
    expect(train).toHaveLength(1);
  });

  it("reads the DIN / PaddleRec format", async () => {
    const s = await collect(readSamples(path.join(FORMATS, "amazon_elec_din_sample_data.txt"), "din"));
    expect(s).toHaveLength(100);
    expect(s[0]).toEqual({ label: 1, user: "", item: "18486", cat: "674", histItems: ["3737", "19450"], histCats: ["288", "196"] });
  });
});

describe("malformed lines", () => {
  it("fail naming the file, the line and the field, or are counted with skipBadLines", async () => {
    const file = tempFile("1\tu\ti\tc\ta\x02b\tx\x02y\r\n2\tu\ti\tc\ta\tx\r\n\n0\tu\ti\tc\ta\x02b\tx\r\n1\tu\ti\tc\t\t\n");
    await expect(collect(readSamples(file, "dien"))).rejects.toThrow(BadDataError);
    await expect(collect(readSamples(file, "dien"))).rejects.toThrow(`${file}:2: field "label": expected 0 or 1 but got "2"`);
    const report = newReport();
    const ok = await collect(readSamples(file, "dien", { skipBadLines: true }, report));
    expect(ok.map((s) => s.histItems.length)).toEqual([2, 0]);
    expect(report).toMatchObject({ lines: 5, samples: 2, skipped: 2 });
    expect(report.firstSkipped[1]).toContain(`${file}:4: field "cat_hist": 1 categories for 2 history items`);
    const din = tempFile("1 2;3 4;5;6;1\n1 2;3;5;6;1\n");
    await expect(collect(readSamples(din, "din"))).rejects.toThrow(`${din}:2: field "hist_cats": 1 categories for 2 history items`);
  });
});

describe.skipIf(!hasShared)("MovieLens, the paper's protocol", () => {
  it("all steps: about 180k / 20k samples, pairs with the same history, negatives never the positive", () => {
    const { train, test } = loadMovieLens(MOVIELENS, { split: "all", seed: 1 });
    expect(train.length + test.length).toBe(2 * (100836 - 610));
    expect(train.length).toBeGreaterThan(150_000);
    expect(test.length).toBeGreaterThan(8_000);
    for (let i = 0; i < 2000; i += 2) {
      const [p, n] = [train[i]!, train[i + 1]!];
      expect([p.label, n.label]).toEqual([1, 0]);
      expect(n.histItems).toEqual(p.histItems);
      expect(n.item).not.toBe(p.item);
    }
    const trainUsers = new Set(train.map((s) => s.user));
    expect(test.some((s) => trainUsers.has(s.user))).toBe(false);
    const again = loadMovieLens(MOVIELENS, { split: "all", seed: 1 });
    expect(again.test.slice(0, 50)).toEqual(test.slice(0, 50));
  });

  it("last step: one pair per user, the same users as the all-steps split", () => {
    const last = loadMovieLens(MOVIELENS, { split: "last", seed: 1 });
    const all = loadMovieLens(MOVIELENS, { split: "all", seed: 1 });
    expect(last.train.length + last.test.length).toBe(2 * 610);
    expect(new Set(last.test.map((s) => s.user))).toEqual(new Set(all.test.map((s) => s.user)));
  });
});

describe("vocabularies, encoding, negatives, batches", () => {
  const samples: Sample[] = [
    { label: 1, user: "u1", item: "a", cat: "x", histItems: ["b", "c", "a"], histCats: ["y", "x", "x"] },
    { label: 0, user: "u2", item: "d", cat: "y", histItems: ["a"], histCats: ["x"] },
    { label: 1, user: "u1", item: "a", cat: "x", histItems: [], histCats: [] },
  ];

  it("vocabularies are in frequency order with 0 for padding and unknowns, and round-trip as JSON", () => {
    const v = buildVocabularies(samples);
    expect(v.items.toJSON()).toEqual(["", "a", "b", "c", "d"]);
    expect(v.cats.toJSON()).toEqual(["", "x", "y"]);
    expect(v.users!.encode(["u2", "nobody"])).toEqual(Int32Array.of(2, 0));
    const back = vocabulariesFromJson(vocabulariesToJson(v));
    expect(back.items.encode(["d", "a"])).toEqual(Int32Array.of(4, 1));
    expect(() => new Vocabulary(["x"])).toThrow("tokens[0]");
    expect(() => v.items.encode([3 as unknown as string])).toThrow("tokens[0]: expected a string");
  });

  it("histories keep the most recent maxLen behaviours, right-padded", () => {
    const v = buildVocabularies(samples);
    const e = encodeSamples(samples, v, 2, true);
    expect(Array.from(e.histLen)).toEqual([2, 1, 0]);
    expect(Array.from(e.histItem)).toEqual([v.items.id("c"), v.items.id("a"), v.items.id("a"), 0, 0, 0]);
    expect(Array.from(e.user!)).toEqual([1, 2, 1]);
  });

  it("negatives are popularity-proportional and avoid the positive; epochs shuffle by seed", () => {
    // events: p 50%, q 25%, z 25%; at t = 3 the positive is z, so negatives there are p or q, 2 : 1
    const many: Sample[] = Array.from({ length: 400 }, (_, i) => ({ label: i % 2, user: "u", item: "t", cat: "c", histItems: ["p", "p", "q", "z"], histCats: ["c", "c", "c", "c"] }));
    const v = buildVocabularies(many);
    const set = encodeSamples(many, v, 4, false);
    const sampler = new NegativeSampler(set, 3);
    let p = 0;
    let q = 0;
    for (const b of epochBatches(set, 64, { shuffleSeed: 1, sampler })) {
      for (let i = 0; i < b.targetItem.length; i++) {
        for (let t = 1; t < 4; t++) expect(b.negItem![i * 4 + t]).not.toBe(b.histItem[i * 4 + t]);
        expect(b.negItem![i * 4]).toBe(0); // position 0 is never read
        const neg = b.negItem![i * 4 + 3]!;
        if (neg === v.items.id("p")) p++;
        if (neg === v.items.id("q")) q++;
      }
    }
    expect(p + q).toBe(400);
    expect(p / 400).toBeGreaterThan(0.58);
    expect(p / 400).toBeLessThan(0.75);
    const labels = (seed: number) => Array.from(epochBatches(set, 1000, { shuffleSeed: seed })).flatMap((b) => Array.from(b.label));
    expect(labels(5)).toEqual(labels(5));
    expect(labels(5)).not.toEqual(labels(6));
    expect(labels(5).filter((y) => y === 1)).toHaveLength(200);
  });
});

describe("vocabularies in the weight file", () => {
  it("travel through create, save, load, training checkpoints and resume; sizes must fit", async () => {
    const { DienModel, Trainer, randomTrainBatch } = await import("../lib");
    const samples: Sample[] = [
      { label: 1, user: "u1", item: "a", cat: "x", histItems: ["b", "c"], histCats: ["y", "x"] },
      { label: 0, user: "u2", item: "d", cat: "y", histItems: ["a"], histCats: ["x"] },
    ];
    const vocab = buildVocabularies(samples);
    const config = { model: "dien" as const, itemVocab: vocab.items.size, catVocab: vocab.cats.size, userVocab: vocab.users!.size, dUser: 4, dItem: 4, dCat: 4, hidden: 8, maxLen: 5 };
    using model = await DienModel.create(config, { seed: 1, vocab });
    expect(model.vocab!.items.encode(["d"])).toEqual(Int32Array.of(vocab.items.id("d")));
    const dir = mkdtempSync(path.join(tmpdir(), "dien-vocab-"));
    await model.save(path.join(dir, "m.safetensors"));
    using loaded = await DienModel.load(path.join(dir, "m.safetensors"));
    expect(loaded.vocab!.cats.toJSON()).toEqual(vocab.cats.toJSON());
    const trainer = model.trainer();
    await trainer.step(randomTrainBatch(model.config, 4, 1));
    await trainer.save(path.join(dir, "ckpt.safetensors"));
    const resumed = await Trainer.resume(path.join(dir, "ckpt.safetensors"));
    expect(resumed.model.vocab!.users!.toJSON()).toEqual(vocab.users!.toJSON());
    resumed.model.dispose();
    await expect(DienModel.create({ ...config, itemVocab: 9 }, { vocab })).rejects.toThrow("options.vocab.items holds 5 ids but the model's vocabulary has 9");
    using plain = await DienModel.create(config);
    expect(plain.vocab).toBeUndefined();
  });
});

describe("large vocabularies in a file of their own", () => {
  const setup = async () => {
    const { DienModel } = await import("../lib");
    const tokens = (prefix: string, n: number) => ["", ...Array.from({ length: n - 1 }, (_, i) => `${prefix}${i}`)];
    const vocab = { items: new Vocabulary(tokens("item-", 50)), cats: new Vocabulary(tokens("cat-", 6)) };
    const config = { model: "dien" as const, itemVocab: 50, catVocab: 6, dItem: 4, dCat: 4, hidden: 8, maxLen: 5 };
    const model = await DienModel.create(config, { seed: 3, vocab });
    const dir = mkdtempSync(path.join(tmpdir(), "dien-vocabfile-"));
    return { DienModel, vocab, config, model, dir, file: path.join(dir, "m.safetensors") };
  };
  const vocabFiles = (dir: string) => readdirSync(dir).filter((n) => n.includes(".vocab-"));
  const header = (file: string) => {
    const b = readFileSync(file);
    return JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString()) as { __metadata__: { vocab: string } };
  };

  it("save puts them beside the weight file, named by their hash; load finds them, and the first use checks and reads them", async () => {
    const { DienModel, vocab, model, dir, file } = await setup();
    using _m = model;
    await model.save(file, { vocab: "file" });
    const [name] = vocabFiles(dir);
    expect(vocabFiles(dir)).toHaveLength(1);
    expect(name).toMatch(/^m\.safetensors\.vocab-[0-9a-f]{16}\.json$/);
    const ref = JSON.parse(header(file).__metadata__.vocab) as { file: string; bytes: number; sha256: string };
    expect(ref.file).toBe(name);
    expect(ref.bytes).toBe(statSync(path.join(dir, name!)).size);
    using loaded = await DienModel.load(file);
    expect(loaded.vocab!.items.toJSON()).toEqual(vocab.items.toJSON());
    expect(loaded.vocab!.cats.encode(["cat-3", "nope"])).toEqual(Int32Array.of(4, 0));
    // Saved again (inline now): the weight file no longer names the vocabulary file, which stays (other files may).
    await loaded.save(file, { vocab: "inline" });
    expect(vocabFiles(dir)).toEqual([name]);
    expect(header(file).__metadata__.vocab.startsWith('{"items":')).toBe(true);
    // Bytes always carry them inline, and a model read from its vocabulary file writes them out whole.
    await model.save(file, { vocab: "file" });
    using again = await DienModel.load(file);
    using fromBytes = await DienModel.load(await again.toBuffer({ dtype: "int8" }));
    expect(fromBytes.vocab!.items.toJSON()).toEqual(vocab.items.toJSON());
    // A quantised copy elsewhere gets its own vocabulary file, with the same bytes.
    const other = path.join(dir, "small.safetensors");
    await again.save(other, { dtype: "int8", vocab: "file" });
    expect(vocabFiles(dir).sort()).toEqual([name, name!.replace("m.safetensors", "small.safetensors")].sort());
    using small = await DienModel.load(other);
    expect(small.vocab!.cats.toJSON()).toEqual(vocab.cats.toJSON());
  });

  it("a missing, truncated, changed or misnamed vocabulary file is a clear DIEN_BAD_WEIGHTS, never a silent model without them", async () => {
    const { DienModel, model, dir, file } = await setup();
    using _m = model;
    await model.save(file, { vocab: "file" });
    const vf = path.join(dir, vocabFiles(dir)[0]!);
    const good = readFileSync(vf);
    // Changed in place (same size): the load succeeds, the first use refuses.
    const flipped = Buffer.from(good);
    flipped[20] ^= 1;
    writeFileSync(vf, flipped);
    using changed = await DienModel.load(file);
    expect(() => changed.vocab).toThrow(expect.objectContaining({ code: "DIEN_BAD_WEIGHTS", message: expect.stringMatching(/has sha256 [0-9a-f]{64}, not the/) }));
    writeFileSync(vf, good.subarray(0, good.length - 1));
    await expect(DienModel.load(file)).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining(`holds ${good.length - 1} bytes but the weight file says ${good.length}`) });
    rmSync(vf);
    await expect(DienModel.load(file)).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining("cannot be read") });
    // Something else in its place (a FIFO would block a plain open until a writer came).
    spawnSync("mkfifo", [vf]);
    await expect(DienModel.load(file)).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining("not a regular file") });
    rmSync(vf);
    writeFileSync(vf, good);
    await expect(DienModel.load(readFileSync(file))).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining("load the weight file by its path") });
    // A header must not send the load anywhere but the weight file's folder.
    const withRef = (ref: object) => {
      const b = readFileSync(file);
      const n = Number(b.readBigUInt64LE(0));
      const h = JSON.parse(b.subarray(8, 8 + n).toString()) as { __metadata__: Record<string, string> };
      h.__metadata__.vocab = JSON.stringify(ref);
      let text = JSON.stringify(h);
      while ((8 + text.length) % 8) text += " ";
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(text.length));
      const out = path.join(dir, "lying.safetensors");
      writeFileSync(out, Buffer.concat([len, Buffer.from(text), b.subarray(8 + n)]));
      return out;
    };
    const ref = JSON.parse(header(file).__metadata__.vocab) as { file: string; bytes: number; sha256: string };
    for (const [bad, why] of [
      [{ ...ref, file: `../${ref.file}` }, "must name a vocabulary file beside the weight file"],
      [{ ...ref, file: "/etc/passwd" }, "must name a vocabulary file beside the weight file"],
      [{ ...ref, sha256: "0".repeat(64) }, "does not carry the start of its sha256"],
      [{ ...ref, bytes: -1 }, "bytes must be an integer >= 2"],
      [{ ...ref, extra: 1 }, 'unknown key "extra"'],
    ] as const)
      await expect(DienModel.load(withRef(bad)), why).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining(why) });
  });

  it("no save removes a vocabulary file: models loaded before, copies, archived versions and concurrent saves all find theirs", async () => {
    const { DienModel, vocab, config, model, dir, file } = await setup();
    using _m = model;
    await model.save(file, { vocab: "file" });
    using old = await DienModel.load(file);
    copyFileSync(file, path.join(dir, "archived.safetensors"));
    const renamed = { items: new Vocabulary(vocab.items.toJSON().map((t) => (t ? `new-${t}` : t))), cats: vocab.cats };
    using next = await DienModel.create(config, { seed: 4, vocab: renamed });
    await next.save(file, { vocab: "file" });
    expect(vocabFiles(dir)).toHaveLength(2);
    expect(old.vocab!.items.token(1)).toBe(vocab.items.token(1));
    using archived = await DienModel.load(path.join(dir, "archived.safetensors"));
    expect(archived.vocab!.items.token(1)).toBe(vocab.items.token(1));
    using fresh = await DienModel.load(file);
    expect(fresh.vocab!.items.token(1)).toBe(`new-${vocab.items.token(1)}`);
    // Two saves of different vocabularies to one path at once: whichever lands, it loads whole.
    for (let round = 0; round < 5; round++) {
      await Promise.all([model.save(file, { vocab: "file" }), next.save(file, { vocab: "file" })]);
      using last = await DienModel.load(file);
      expect([vocab.items.token(1), `new-${vocab.items.token(1)}`]).toContain(last.vocab!.items.token(1));
    }
    // Loaded through a link from another folder: the vocabulary file is found beside the file it leads to.
    const elsewhere = mkdtempSync(path.join(tmpdir(), "dien-vocablink-"));
    symlinkSync(file, path.join(elsewhere, "current.safetensors"));
    using linked = await DienModel.load(path.join(elsewhere, "current.safetensors"));
    expect(linked.vocab!.cats.toJSON()).toEqual(vocab.cats.toJSON());
    // A FIFO where the save's vocabulary file goes is replaced, not waited on.
    const [mine] = vocabFiles(dir).filter((n) => n.startsWith("m.safetensors.vocab-") && readFileSync(path.join(dir, n), "utf8").includes('"item-1"'));
    rmSync(path.join(dir, mine!));
    spawnSync("mkfifo", [path.join(dir, mine!)]);
    await model.save(file, { vocab: "file" });
    using afterFifo = await DienModel.load(file);
    expect(afterFifo.vocab!.items.toJSON()).toEqual(vocab.items.toJSON());
  });

  it("checkpoints keep them in a file too, and resume reads it; the engine never writes a header a reader would refuse", async () => {
    const { DienModel, vocab, config, model, dir } = await setup();
    using _m = model;
    const { Trainer, randomTrainBatch } = await import("../lib");
    // Vocabularies over 8 MiB go to a file by default; inline, a header over 100 MiB is refused before anything is written.
    const long = (p: string, n: number, width: number) => ["", ...Array.from({ length: n - 1 }, (_, i) => `${p}${i}-`.padEnd(width, "x"))];
    const huge = { items: new Vocabulary(long("i", 50, 2_200_000)), cats: vocab.cats };
    using big = await DienModel.create(config, { seed: 3, vocab: huge });
    await expect(big.toBuffer()).rejects.toMatchObject({ message: expect.stringMatching(/^vocab: the vocabularies take \d+ bytes of JSON, which would make a \d+-byte header, over the 104857600 bytes a reader accepts/) });
    const bigFile = path.join(dir, "big.safetensors");
    await big.save(bigFile);
    expect(statSync(bigFile).size).toBeLessThan(1 << 20);
    const trainer = big.trainer();
    await trainer.step(randomTrainBatch(big.config, 4, 1));
    const ckpt = path.join(dir, "ckpt.safetensors");
    await trainer.save(ckpt);
    await trainer.save(ckpt); // the same vocabularies again: the file is kept, not rewritten
    expect(vocabFiles(dir).filter((n) => n.startsWith("ckpt."))).toHaveLength(1);
    const resumed = await Trainer.resume(ckpt);
    expect(resumed.model.vocab!.items.token(49)).toBe(huge.items.token(49));
    resumed.model.dispose();
  });
});

describe("a loaded model's vocabularies: a native index", () => {
  // Strings a Map keys exactly and JSON escapes: quotes, controls, non-ASCII, pairs and lone surrogates.
  const tricky = ["", "a", 'q"uote', "back\\slash", "tab\tnew\nline\u0001", "été", "日本", "😀", "\ud800", "\udfff", "x\ud83d", "\ufffd", "\u2028", "del\u007f", "/"];
  const tokens = [...tricky, ...Array.from({ length: 3000 }, (_, i) => `item-${i * 7919}`)];
  const setup = async () => {
    const { DienModel } = await import("../lib");
    const vocab = { items: new Vocabulary(tokens), cats: new Vocabulary(["", "c1", "c2"]), users: new Vocabulary(["", "u"]) };
    const config = { model: "dien" as const, itemVocab: tokens.length, catVocab: 3, userVocab: 2, dUser: 2, dItem: 4, dCat: 4, hidden: 8, maxLen: 5 };
    const model = await DienModel.create(config, { seed: 3, vocab });
    return { DienModel, vocab, config, model, dir: mkdtempSync(path.join(tmpdir(), "dien-vocabindex-")) };
  };

  it("maps every string as the Map it was saved from did, inline or from a file, and writes it back byte for byte", async () => {
    const { DienModel, vocab, model, dir } = await setup();
    using _m = model;
    const probes = [...tokens, "nope", "A", "\ud800\udc00", "\udc00\ud800", "item-1", "ete\u0301", " a"];
    for (const placement of ["inline", "file"] as const) {
      const file = path.join(dir, `${placement}.safetensors`);
      await model.save(file, { vocab: placement });
      using loaded = await DienModel.load(file);
      const v = (await loaded.loadVocab())!;
      expect(loaded.vocab).toBe(v);
      expect(v.items.size).toBe(tokens.length);
      expect(v.items.encode(probes)).toEqual(vocab.items.encode(probes));
      expect(probes.map((t) => v.items.id(t))).toEqual(probes.map((t) => vocab.items.id(t)));
      for (const id of [0, 1, 5, 8, 9, 10, tokens.length - 1, tokens.length, -1, 1.5, NaN]) expect(v.items.token(id)).toBe(vocab.items.token(id));
      expect(v.items.toJSON()).toEqual(tokens);
      expect(v.users!.toJSON()).toEqual(["", "u"]);
      expect(() => v.items.encode(["a", 3 as unknown as string])).toThrow(new TypeError("tokens[1]: expected a string but got number"));
      expect(() => v.items.encode("a" as unknown as string[])).toThrow(TypeError);
      expect(() => v.items.id(3 as unknown as string)).toThrow(new TypeError("token: expected a string but got number"));
      expect(() => v.items.token("1" as unknown as number)).toThrow(new TypeError("id: expected a number but got string"));
    }
    // The file holds what JSON.stringify wrote; a model read from it writes the same bytes again (the same name).
    const name = readdirSync(dir).find((n) => n.startsWith("file.safetensors.vocab-"))!;
    expect(readFileSync(path.join(dir, name)).equals(Buffer.from(vocabulariesToJson(vocab)))).toBe(true);
    using fromFile = await DienModel.load(path.join(dir, "file.safetensors"));
    await fromFile.save(path.join(dir, "again.safetensors"), { vocab: "file" });
    expect(readFileSync(path.join(dir, name.replace("file.", "again.")))).toEqual(readFileSync(path.join(dir, name)));
    expect(vocabulariesToJson(fromFile.vocab!)).toBe(vocabulariesToJson(vocab));
  });

  it("loadVocab reads a vocabulary file off the event loop once; a failure rejects and can be retried", async () => {
    const { DienModel, model, dir } = await setup();
    using _m = model;
    const file = path.join(dir, "m.safetensors");
    await model.save(file, { vocab: "file" });
    using loaded = await DienModel.load(file);
    const [a, b] = await Promise.all([loaded.loadVocab(), loaded.loadVocab()]);
    expect(a).toBe(b);
    expect(loaded.vocab).toBe(a);
    using plain = await DienModel.load(await model.toBuffer());
    expect(await plain.loadVocab()).toBe(plain.vocab);
    // A second model of the same vocabularies shares the first's index (by the file's
    // sha256, after checking it): the text is not parsed again, whatever it says.
    const { native } = await import("../lib/native");
    const sha = /\.vocab-([0-9a-f]{16})\.json$/.exec(readdirSync(dir).find((n) => n.includes(".vocab-"))!)![1]!;
    const full = createHash("sha256").update(readFileSync(path.join(dir, `m.safetensors.vocab-${sha}.json`))).digest("hex");
    expect((await native().parseVocab("not parsed", full)).size(0)).toBe(a!.items.size);
    using again = await DienModel.load(file);
    expect((await again.loadVocab())!.items.encode(["item-0", "a"])).toEqual(a!.items.encode(["item-0", "a"]));
    expect(() => native().parseVocabSync("{}", "abc")).toThrow(new RangeError('sha256: expected 64 lowercase hex digits but got "abc"'));
    // Gone after the load (a deploy copying files in): rejects, then reads it once it is back.
    using early = await DienModel.load(file);
    const vf = path.join(dir, readdirSync(dir).find((n) => n.includes(".vocab-"))!);
    const bytes = readFileSync(vf);
    rmSync(vf);
    await expect(early.loadVocab()).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining(`its vocabulary file ${vf} cannot be read`) });
    writeFileSync(vf, bytes.subarray(0, bytes.length - 1));
    await expect(early.loadVocab()).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringContaining(`holds ${bytes.length - 1} bytes`) });
    const changed = Buffer.from(bytes);
    changed[bytes.length - 3] ^= 1;
    writeFileSync(vf, changed);
    await expect(early.loadVocab()).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: expect.stringMatching(/has sha256 [0-9a-f]{64}, not the/) });
    writeFileSync(vf, bytes);
    const v = (await early.loadVocab())!;
    expect(v.items.id("item-7919")).toBe(tricky.length + 1);
    // Odd arrays are encoded as read once, by either index: a Proxy, a huge sparse array fails at its first hole.
    const proxy = new Proxy(["a", "nope"], {});
    expect(v.items.encode(proxy)).toEqual(Int32Array.of(1, 0));
    expect(() => v.items.encode(new Array(5e8))).toThrow(new TypeError("tokens[0]: expected a string but got undefined"));
    // The index goes with the model.
    early.dispose();
    expect(() => early.vocab).toThrow(expect.objectContaining({ code: "DIEN_DISPOSED" }));
    await expect(early.loadVocab()).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
    using late = await DienModel.load(file);
    const pending = late.loadVocab();
    late.dispose();
    await expect(pending).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
  });

  it("vocabularies that are not valid are refused whole, naming the table, the index and the byte", async () => {
    const { DienModel, config, dir } = await setup();
    const { native } = await import("../lib/native");
    const { normalizeConfig } = await import("../lib/config");
    const cases: [string, RegExp][] = [
      ['{"items":["","a","b","a"],"cats":["","c1","c2"],"users":["","u"]}', /vocab\.items\[3\]: "a" appears twice \(also at 1\)/],
      ['{"items":["x"],"cats":["","c1","c2"],"users":["","u"]}', /vocab\.items\[0\]: id 0 is reserved/],
      ['{"items":["",7],"cats":["","c1","c2"],"users":["","u"]}', /vocab\.items\[1\]: expected a string but got a number at byte 13/],
      ['{"items":[""],"cats":["","c1","c2"],"users":["","u"],"tags":[]}', /unknown key "tags"/],
      ['{"items":["","a\\q"],"cats":["",""],"users":["","u"]}', /vocab\.items\[1\]: not a JSON escape/],
    ];
    for (const [text, why] of cases) {
      const handle = await native().createModel(JSON.stringify(normalizeConfig({ ...config, itemVocab: 4 })), 1, {}, text);
      const file = path.join(dir, "bad.safetensors");
      writeFileSync(file, await native().runCall<Buffer>(handle.stageSave()));
      const err = await DienModel.load(file).then(() => undefined, (e: unknown) => e as Error & { code: string });
      expect(err).toMatchObject({ code: "DIEN_BAD_WEIGHTS" });
      expect(err!.message).toContain(`${file}: __metadata__.vocab is not valid: `);
      expect(err!.message).toMatch(why);
    }
    await expect(native().parseVocab('{"items":[""],"cats":["",""]}')).rejects.toMatchObject({ code: "DIEN_BAD_WEIGHTS", message: 'vocab.cats[1]: "" appears twice (it is id 0)' });
    expect(() => native().parseVocabSync(Buffer.from('{"items":["","\xff"],"cats":[""]}', "latin1"))).toThrow("vocab.items[1]: the text is not valid UTF-8 at byte 14");
    expect(() => native().parseVocabSync(3 as unknown as string)).toThrow(new TypeError("text: expected a Uint8Array or a string but got number"));
    // The addon's own buffer (what a vocabulary file is read into) is parsed in place; a view of it is copied, up to its length.
    const text = '{"items":["","a"],"cats":[""]}';
    const lent = native().vocabText(text.length + 1)!;
    expect(lent.every((b) => b === 0)).toBe(true);
    lent.set(Buffer.from(`${text} `));
    expect(() => native().parseVocabSync(lent.subarray(0, text.length - 1))).toThrow("vocab: the text ends early");
    const parsing = native().parseVocab(lent);
    expect(lent.length).toBe(0); // taken over: JS can no longer change what is being parsed
    expect((await parsing).id(0, "a")).toBe(1);
    expect(() => native().vocabText(-1)).toThrow(new RangeError("n: expected an integer in [0, 2^32) but got -1"));
    expect(() => native().vocabText("5" as unknown as number)).toThrow(new TypeError("n: expected an integer in [0, 2^32) but got string"));
    // A string is read exactly: a lone surrogate stays itself.
    const lone = await native().parseVocab('{"items":["","\ud800","\ufffd"],"cats":[""]}');
    expect([lone.id(0, "\ud800"), lone.id(0, "\ufffd"), lone.tokens(0).length]).toEqual([1, 2, 3]);
  });
});

describe("training data larger than memory", () => {
  it("a SampleStore on disk gives exactly the batches (and negatives) of the in-memory set", async () => {
    const { driftingInterests } = await import("../lib/data/drift");
    const samples = driftingInterests({ users: 300, seed: 4 });
    const v = buildVocabularies(samples);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "dien-store-")), "train.bin");
    async function* stream() {
      for (const s of samples) yield s;
    }
    const store = await SampleStore.write(stream(), v, 16, true, file);
    try {
      const memory = memorySource(encodeSamples(samples, v, 16, true));
      expect(store.n).toBe(samples.length);
      expect(store.events.items).toEqual(memory.events.items);
      const a = [...epochBatches(store, 50, { shuffleSeed: 9, sampler: new NegativeSampler(store, 2) })];
      const b = [...epochBatches(memory, 50, { shuffleSeed: 9, sampler: new NegativeSampler(memory, 2) })];
      expect(a).toEqual(b);
      expect(() => store.batch([store.n])).toThrow(`indices[0]: ${store.n} is outside [0, ${store.n})`);
    } finally {
      store.close();
    }
  });
});
