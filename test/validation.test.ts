// Bad input of every kind: a TypeError or RangeError naming the field, the sample
// index and the value, thrown before any work is queued, and the same checks again
// in C++ when the TS layer is bypassed.
import { beforeAll, afterAll, describe, expect, it } from "vitest";

import { type Batch, DienModel, randomBatch } from "../lib";
import { native } from "../lib/native";

const config = { model: "dien" as const, itemVocab: 50, catVocab: 8, userVocab: 6, maxLen: 12 };
let model: DienModel;
let good: Batch;

beforeAll(async () => {
  model = await DienModel.create(config, { seed: 3 });
  good = randomBatch(model.config, 10, 4, 0);
});
afterAll(() => model.dispose());

function withField(field: keyof Batch, value: unknown): Batch {
  return { ...good, [field]: value } as Batch;
}

function withEdit(field: keyof Batch, index: number, value: number): Batch {
  const copy = (good[field] as Int32Array).slice();
  copy[index] = value;
  return withField(field, copy);
}

describe("predict input validation (TypeScript layer)", () => {
  it("accepts the good batch", async () => {
    const out = await model.predict(good);
    expect(out).toHaveLength(10);
  });

  it.each([
    ["targetItem", new Float32Array(10), "targetItem: expected an Int32Array but got Float32Array"],
    ["histCat", [1, 2, 3], "histCat: expected an Int32Array but got Array"],
    ["histLen", undefined, "histLen: expected an Int32Array but got undefined"],
    ["user", new Uint32Array(10), "user: expected an Int32Array but got Uint32Array"],
  ] as const)("rejects %s of the wrong type", async (field, value, message) => {
    await expect(model.predict(withField(field, value))).rejects.toThrow(new TypeError(message));
  });

  it.each([
    ["targetCat", new Int32Array(9), "targetCat: expected 10 elements (one per sample) but got 9"],
    ["histItem", new Int32Array(119), "histItem: expected 120 elements (batch 10 x maxLen 12) but got 119"],
    ["user", new Int32Array(11), "user: expected 10 elements (one per sample) but got 11"],
  ] as const)("rejects %s of the wrong length", async (field, value, message) => {
    await expect(model.predict(withField(field, value))).rejects.toThrow(new RangeError(message));
  });

  it.each([
    ["targetItem", 3, 50, "targetItem[3]: id 50 is outside [0, 50)"],
    ["targetCat", 0, -1, "targetCat[0]: id -1 is outside [0, 8)"],
    ["histItem", 2 * 12 + 11, 1000, "histItem[2, 11]: id 1000 is outside [0, 50)"],
    ["histCat", 9 * 12, 8, "histCat[9, 0]: id 8 is outside [0, 8)"],
    ["histLen", 4, 13, "histLen[4]: length 13 is outside [0, 12]"],
    ["histLen", 7, -2, "histLen[7]: length -2 is outside [0, 12]"],
    ["user", 5, 6, "user[5]: id 6 is outside [0, 6)"],
  ] as const)("rejects a bad value in %s", async (field, index, value, message) => {
    await expect(model.predict(withEdit(field, index, value))).rejects.toThrow(new RangeError(message));
  });

  it("refuses ids in shared memory, in TypeScript and in C++", async () => {
    const shared = new Int32Array(new SharedArrayBuffer(good.histItem.byteLength));
    shared.set(good.histItem);
    await expect(model.predict(withField("histItem", shared))).rejects.toThrow(/histItem: arrays over a SharedArrayBuffer are not accepted/);
    const handle = await native().createModel(JSON.stringify(model.config), 1);
    expect(() => handle.stagePredict({ ...good, histItem: shared }, false)).toThrow(/histItem: arrays over a SharedArrayBuffer are not accepted/);
    handle.dispose();
  });

  it("requires user ids when the model has a user field", async () => {
    const { user: _user, ...noUser } = good;
    await expect(model.predict(noUser as Batch)).rejects.toThrow(/user: the model has a user field/);
  });

  it("rejects a batch that is not an object and bad options", async () => {
    await expect(model.predict(null as unknown as Batch)).rejects.toThrow(TypeError);
    await expect(model.predict(good, { logits: 1 as unknown as boolean })).rejects.toThrow("options.logits: expected a boolean but got number 1");
    await expect(model.predict(good, { out: new Float32Array(3) })).rejects.toThrow("options.out: expected 10 elements (one per sample) but got 3");
    await expect(model.predict(good, { out: new Float64Array(10) as unknown as Float32Array })).rejects.toThrow(TypeError);
  });

  it("validates scoreCandidates arguments", async () => {
    const hist = { histItem: good.histItem.slice(0, 5), histCat: good.histCat.slice(0, 5), user: 1 };
    const cands = { items: Int32Array.of(1, 2), cats: Int32Array.of(0, 1) };
    expect(await model.scoreCandidates(hist, cands)).toHaveLength(2);
    await expect(model.scoreCandidates({ ...hist, histLen: 13 }, cands)).rejects.toThrow(RangeError);
    await expect(model.scoreCandidates({ ...hist, histLen: 6 }, cands)).rejects.toThrow("user.histItem: expected at least 6 elements but got 5");
    await expect(model.scoreCandidates({ ...hist, user: 6 }, cands)).rejects.toThrow("user.user: id 6 is outside [0, 6)");
    await expect(model.scoreCandidates({ histItem: hist.histItem, histCat: hist.histCat }, cands)).rejects.toThrow(/a user id is required/);
    await expect(model.scoreCandidates(hist, { items: Int32Array.of(1, 99), cats: Int32Array.of(0, 1) })).rejects.toThrow("candidates.items[1]: id 99 is outside [0, 50)");
    await expect(model.scoreCandidates(hist, { items: Int32Array.of(1), cats: Int32Array.of(0, 1) })).rejects.toThrow(RangeError);
    const tooLong = new Int32Array(13);
    await expect(model.scoreCandidates({ histItem: tooLong, histCat: tooLong, user: 0 }, cands)).rejects.toThrow(/exceed the model's maxLen 12/);
  });

  it("an empty batch returns an empty result", async () => {
    const empty = randomBatch(model.config, 0);
    expect(await model.predict(empty)).toHaveLength(0);
    expect(await model.scoreCandidates({ histItem: new Int32Array(0), histCat: new Int32Array(0), user: 0 }, { items: new Int32Array(0), cats: new Int32Array(0) })).toHaveLength(0);
  });
});

describe("the native layer re-checks everything (TS bypassed)", () => {
  async function raw() {
    return native().createModel(JSON.stringify(model.config), 1);
  }

  it("rejects out-of-range ids and lengths with a RangeError naming field, index and value, before the call queues", async () => {
    const handle = await raw();
    const stage = (b: Batch) => () => handle.stagePredict(b, false);
    expect(stage(withEdit("histItem", 5 * 12 + 3, 77))).toThrow(new RangeError("histItem[5, 3]: id 77 is outside [0, 50)"));
    expect(stage(withEdit("histLen", 1, 99))).toThrow(new RangeError("histLen[1]: length 99 is outside [0, 12]"));
    expect(stage(withEdit("user", 2, -5))).toThrow(new RangeError("user[2]: id -5 is outside [0, 6)"));
    expect(stage({ ...good, histCat: new Int32Array(3) })).toThrow(new RangeError("histCat: expected 120 elements but got 3"));
    // The history is scanned in blocks: the first bad cell is named, wherever it lies.
    const big = randomBatch(model.config, 200, 3);
    const at = (b: number, t: number) => b * model.config.maxLen + t;
    const edit = (field: "histItem" | "histCat", cells: [number, number][]) => {
      const a = big[field].slice();
      for (const [k, v] of cells) a[k] = v;
      return { ...big, [field]: a };
    };
    expect(stage(edit("histItem", [[at(150, 7), 50], [at(190, 0), -1]]))).toThrow(new RangeError("histItem[150, 7]: id 50 is outside [0, 50)"));
    expect(stage(edit("histItem", [[at(199, 11), -2147483648]]))).toThrow(new RangeError("histItem[199, 11]: id -2147483648 is outside [0, 50)"));
    const both = { ...edit("histItem", [[at(120, 4), 99]]), histCat: edit("histCat", [[at(90, 2), 8]]).histCat };
    expect(stage(both)).toThrow(new RangeError("histCat[90, 2]: id 8 is outside [0, 8)"));
    expect(stage({ ...both, histCat: big.histCat })).toThrow(new RangeError("histItem[120, 4]: id 99 is outside [0, 50)"));
    expect(await native().runCall(handle.stagePredict(big, false))).toHaveLength(200);
    handle.dispose();
  });

  it("rejects wrong array types with a TypeError", async () => {
    const handle = await raw();
    expect(() => handle.stagePredict({ ...good, histLen: new Uint8Array(10) as unknown as Int32Array }, false)).toThrow(new TypeError("histLen: expected an Int32Array but got Uint8Array"));
    expect(() => handle.stagePredict(good, 1 as unknown as boolean)).toThrow(new TypeError("logits: expected a boolean but got number"));
    const req = { histOffsets: Int32Array.of(0, 3), histItem: good.histItem.slice(0, 3), histCat: good.histCat.slice(0, 3), user: Int32Array.of(0), candOffsets: Int32Array.of(0, 1), items: Int32Array.of(1), cats: Int32Array.of(1) };
    const run = (r: typeof req) => native().runCall(handle.stageRequests(r, false));
    expect(() => handle.stageRequests({ ...req, candOffsets: [0, 1] as unknown as Int32Array }, false)).toThrow(new TypeError("candOffsets: expected an Int32Array but got Array"));
    expect(() => handle.stageRequests({ ...req, histOffsets: new Int32Array(0) }, false)).toThrow(RangeError);
    expect(() => handle.stageRequests({ ...req, candOffsets: Int32Array.of(0) }, false)).toThrow(new RangeError("candOffsets: expected 2 elements (one more than the requests, as histOffsets) but got 1"));
    expect(await run(req)).toHaveLength(1);
    await expect(run({ ...req, cats: Int32Array.of(9) })).rejects.toThrow(new RangeError("cats[0, 0]: id 9 is outside [0, 8)"));
    await expect(run({ ...req, histOffsets: Int32Array.of(0, 2) })).rejects.toThrow(new RangeError("histOffsets[1]: 2 but the arrays hold 3 elements"));
    await expect(run({ ...req, histOffsets: Int32Array.of(0, 13), histItem: new Int32Array(13), histCat: new Int32Array(13) })).rejects.toThrow(new RangeError("request 0: 13 history entries exceed the limit of 12"));
    await expect(run({ ...req, candOffsets: Int32Array.of(0, -1) })).rejects.toThrow(new RangeError("candOffsets[1]: -1 is below candOffsets[0] = 0"));
    await expect(run({ ...req, user: Int32Array.of(6) })).rejects.toThrow(new RangeError("user[0]: id 6 is outside [0, 6)"));
    expect(() => native().loadModel(42 as unknown as Uint8Array)).toThrow(new TypeError("source: expected a Uint8Array or Buffer but got number"));
    const call = handle.stagePredict(good, false);
    await native().runCall(call);
    expect(() => native().runCall(call)).toThrow(/has already run/);
    expect(() => native().runCall({} as never)).toThrow(new TypeError("call: expected a call prepared by stagePredict or stageRequests"));
    // A prepared call is an External too: the model constructor must not take it for an engine.
    const NativeModel = (native() as unknown as { NativeModel: new (x: unknown) => unknown }).NativeModel;
    expect(() => new NativeModel(handle.stagePredict(good, false))).toThrow(new TypeError("NativeModel is created by loadModel() or createModel(), not with new"));
    handle.dispose();
  });
});

describe("config validation in create()", () => {
  it.each([
    [{ ...config, itemVocab: 0 }, RangeError, "config.itemVocab: expected an integer in [1, 2147483647] but got 0"],
    [{ ...config, hidden: "36" }, TypeError, 'config.hidden: expected an integer but got string "36"'],
    [{ ...config, evolution: "lstm" }, RangeError, 'config.evolution: expected one of "augru", "augru-orig", "agru", "aigru", "gru-att" but got string "lstm"'],
    [{ ...config, model: "dien-agru", evolution: "augru" }, RangeError, 'config.evolution: model "dien-agru" requires evolution "agru"'],
    [{ ...config, mystery: 1 }, RangeError, 'config: unknown key "mystery"'],
    [{ ...config, dUser: 0 }, RangeError, "config.dUser: dUser (0) and userVocab (6) must both be 0"],
    [{ catVocab: 3 }, TypeError, "config.itemVocab: required"],
  ])("rejects %j", async (cfg, type, message) => {
    const err = await DienModel.create(cfg as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toContain(message);
  });

  it("rules only the engine knows come back as DIEN_BAD_CONFIG", async () => {
    const err = await DienModel.create({ ...config, model: "base", auxAlpha: 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "DIEN_BAD_CONFIG" });
    expect((err as Error).message).toContain("auxAlpha");
  });
});
