// createScorer: concurrent callers merged into few native calls, each getting exactly
// its own results; a bounded queue, cancellation, draining, statistics.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DienError, DienModel, OverloadedError, createScorer, randomRequests } from "../lib";
import { ModelService } from "../lib/serving";

let model: DienModel;

beforeAll(async () => {
  model = await DienModel.create({ model: "dien", itemVocab: 500, catVocab: 40, userVocab: 30, dItem: 8, dCat: 8, dUser: 4, hidden: 12, maxLen: 20 }, { seed: 3 });
});
afterAll(() => model.dispose());

describe("createScorer", () => {
  it("1,000 concurrent score() calls equal sequential calls, in few native calls", async () => {
    const requests = randomRequests(model.config, 1000, 5, { minLen: 0, minCandidates: 1, maxCandidates: 12 });
    const sequential: Float32Array[] = [];
    for (const r of requests) sequential.push(await model.scoreCandidates(r.history, r.candidates));
    let computed = 0;
    const scorer = createScorer(model, { maxBatch: 64, maxDelayMs: 1, maxQueue: 1000, onBatch: (b) => (computed += b.requests) });
    const concurrent = await Promise.all(requests.map((r) => scorer.score(r)));
    expect(concurrent).toEqual(sequential);
    // Each caller owns its array: no view into a batch that holds other callers' results.
    for (const r of concurrent) expect(r.buffer.byteLength).toBe(r.byteLength);
    const stats = scorer.stats();
    expect(stats.completed).toBe(1000);
    expect(computed).toBe(1000);
    expect(stats.batches).toBeLessThanOrEqual(1000 / 32);
    expect(stats.batchSizes.reduce((n, b) => n + b.count, 0)).toBe(stats.batches);
    expect(stats.batchSizes.at(-1)).toEqual({ le: 64, count: expect.any(Number) });
    expect(stats.latencyMs.count).toBe(1000);
    expect(stats.latencyMs.p50).toBeGreaterThan(0);
    expect(stats.latencyMs.p99).toBeGreaterThanOrEqual(stats.latencyMs.p50);
    expect(stats.latencyMs.max).toBeGreaterThanOrEqual(stats.latencyMs.p99);
    await scorer.close();
  });

  it("copies requests: arrays changed after score() do not change the result", async () => {
    const [r] = randomRequests(model.config, 1, 9, { maxCandidates: 5 });
    const expected = await model.scoreCandidates(r!.history, r!.candidates);
    const scorer = createScorer(model, { maxDelayMs: 5 });
    const pending = scorer.score(r!);
    r!.candidates.items.fill(0);
    r!.history.histItem.fill(0);
    expect(await pending).toEqual(expected);
    await scorer.close();
  });

  it("a full queue rejects at once with DIEN_OVERLOADED; the others are scored", async () => {
    const requests = randomRequests(model.config, 50, 11, { maxCandidates: 4 });
    const scorer = createScorer(model, { maxBatch: 4, maxQueue: 10, maxDelayMs: 50 });
    const settled = await Promise.allSettled(requests.map((r) => scorer.score(r)));
    const rejected = settled.filter((s) => s.status === "rejected");
    // The first 4 fill a batch that starts at once; 10 more may wait; the rest are refused.
    expect(rejected.length).toBe(36);
    expect(settled.slice(0, 14).every((s) => s.status === "fulfilled")).toBe(true);
    for (const s of rejected) {
      const err = (s as PromiseRejectedResult).reason as DienError;
      expect(err).toBeInstanceOf(OverloadedError);
      expect(err.code).toBe("DIEN_OVERLOADED");
    }
    expect(scorer.stats().overloaded).toBe(36);
    expect(scorer.stats().completed).toBe(14);
    await scorer.close();
  });

  it("an aborted request is dropped before it is computed; the others are not disturbed", async () => {
    const requests = randomRequests(model.config, 6, 13, { maxCandidates: 3 });
    let computed = 0;
    const scorer = createScorer(model, { maxDelayMs: 20, onBatch: (b) => (computed += b.requests) });
    const ac = new AbortController();
    const pending = requests.map((r, i) => scorer.score(r, i % 2 === 0 ? { signal: ac.signal } : undefined));
    ac.abort();
    const settled = await Promise.allSettled(pending);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    expect(((settled[0] as PromiseRejectedResult).reason as Error).name).toBe("AbortError");
    expect(computed).toBe(3);
    expect(scorer.stats().aborted).toBe(3);
    await expect(scorer.score(requests[0]!, { signal: AbortSignal.abort() })).rejects.toThrow(/aborted/);
    await scorer.close();
  });

  it("close() drains what was taken, then refuses new requests", async () => {
    const requests = randomRequests(model.config, 20, 17, { maxCandidates: 3 });
    const scorer = createScorer(model, { maxBatch: 3, maxDelayMs: 30 });
    const pending = requests.map((r) => scorer.score(r));
    await scorer.close();
    expect(scorer.stats().queued).toBe(0);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.length)).toEqual(requests.map((r) => r.candidates.items.length));
    await expect(scorer.score(requests[0]!)).rejects.toMatchObject({ code: "DIEN_DISPOSED", message: "the scorer is closed" });
  });

  it("a bad request rejects only its caller, naming the field", async () => {
    const [good, bad] = randomRequests(model.config, 2, 19, { maxCandidates: 3 });
    bad!.candidates.items[1] = 9999;
    const scorer = createScorer(model);
    const [a, b] = await Promise.allSettled([scorer.score(good!), scorer.score(bad!)]);
    expect(a.status).toBe("fulfilled");
    expect((b as PromiseRejectedResult).reason).toEqual(new RangeError("request.candidates.items[1]: id 9999 is outside [0, 500)"));
    await expect(scorer.score({ history: good!.history } as never)).rejects.toThrow(new TypeError("request.candidates: expected an object but got undefined"));
    expect(scorer.stats().invalid).toBe(2);
    expect(() => createScorer(model, { maxBatch: 0 })).toThrow(new RangeError("options.maxBatch: expected an integer in [1, 1048576] but got 0"));
    expect(() => createScorer(model, { maxQueue: 0 })).toThrow(RangeError);
    expect(() => createScorer(model, { maxbatch: 3 } as never)).toThrow(/unknown option "maxbatch" \(did you mean "maxBatch"\?\)/);
    expect(() => createScorer({} as never)).toThrow(TypeError);
    await scorer.close();
  });

  it("scoreRequests validates each request and names its index", async () => {
    const [r] = randomRequests(model.config, 1, 23, { maxCandidates: 2 });
    await expect(model.scoreRequests([r!, { history: { ...r!.history, histLen: 30 }, candidates: r!.candidates }])).rejects.toThrow(
      new RangeError("requests[1].history.histLen: 30 behaviours exceed the model's maxLen 20; keep the most recent 20"),
    );
    await expect(model.scoreRequests([{ ...r!, history: { ...r!.history, user: 30 } }])).rejects.toThrow(new RangeError("requests[0].history.user: id 30 is outside [0, 30)"));
    await expect(model.scoreRequests({} as never)).rejects.toThrow(TypeError);
    // eslint-disable-next-line no-sparse-arrays
    await expect(model.scoreRequests([, r!] as never)).rejects.toThrow(new TypeError("requests[0]: expected an object but got undefined"));
    expect(await model.scoreRequests([])).toEqual([]);
  });

  it("a service disposes the models it loaded, never the one it was given", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "dien-service-"));
    const file = path.join(dir, "m.safetensors");
    await model.save(file);
    const service = ModelService.fromModel(model);
    let batches = 0;
    service.onBatch(() => batches++);
    const [r] = randomRequests(model.config, 1, 29, { maxCandidates: 3 });
    await service.current!.scorer.score(r!);
    const loaded = await service.reload(file);
    expect(loaded.model).not.toBe(model);
    expect(loaded.version).toMatch(/^[0-9a-f]{12}$/);
    await service.current!.scorer.score(r!);
    expect(batches).toBe(2);
    await service.close();
    expect(service.current).toBeUndefined();
    expect(loaded.model.disposed).toBe(true);
    expect(model.disposed).toBe(false);
    await expect(service.reload(file)).rejects.toMatchObject({ code: "DIEN_DISPOSED" });
  });
});
