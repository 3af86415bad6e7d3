// Writes an out-of-range value into one input array right after a call was made and
// before it resolves: the call must still return exactly what the unmodified inputs
// give (the engine copied them when the call was made) and the process must live.
//   node mutate.cjs <predict|candidates> <field> <sync|microtask|immediate|timeout> <iterations>
"use strict";
const { lib, smallModel, run, sameBits, cloneBatch } = require("./common.cjs");

const [api, field, timing, iterationsArg] = process.argv.slice(2);
const iterations = Number(iterationsArg);

function later(fn) {
  if (timing === "sync") fn();
  else if (timing === "microtask") queueMicrotask(fn);
  else if (timing === "immediate") setImmediate(fn);
  else setTimeout(fn, 1);
}

// Values no id or length may take: far past every vocabulary, negative, huge.
const BAD = [1e9, -5, 2147483647, -2147483648, 123456];

run(async () => {
  const model = await smallModel();
  const base = lib.randomBatch(model.config, 96, 11, 0);
  const hist = { histItem: base.histItem.slice(0, 30), histCat: base.histCat.slice(0, 30), user: 3 };
  const cands = { items: base.targetItem.slice(), cats: base.targetCat.slice() };
  const expected = api === "predict" ? await model.predict(base) : await model.scoreCandidates(hist, cands);
  let mismatches = 0;
  let rejected = 0;
  for (let i = 0; i < iterations; i++) {
    let promise;
    let target;
    if (api === "predict") {
      const b = cloneBatch(base);
      promise = model.predict(b);
      target = b[field];
    } else {
      const h = { ...hist, histItem: hist.histItem.slice(), histCat: hist.histCat.slice() };
      const c = { items: cands.items.slice(), cats: cands.cats.slice() };
      promise = model.scoreCandidates(h, c);
      target = { histItem: h.histItem, histCat: h.histCat, items: c.items, cats: c.cats }[field];
    }
    const at = (i * 7919) % target.length;
    later(() => {
      target[at] = BAD[i % BAD.length];
      target.fill(BAD[(i + 1) % BAD.length], Math.floor(target.length / 2));
    });
    try {
      const got = await promise;
      if (!sameBits(got, expected)) mismatches++;
    } catch {
      rejected++;
    }
  }
  model.dispose();
  return { iterations, mismatches, rejected };
});
