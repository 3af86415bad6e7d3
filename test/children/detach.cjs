// Detaches, transfers or resizes the memory of an input or of `out` while a call is in
// flight, or passes memory that cannot be trusted: every case ends with the right
// result or a clear error, never a crash.
//   node detach.cjs <case>
"use strict";
const { lib, smallModel, run, sameBits, cloneBatch } = require("./common.cjs");

const which = process.argv[2];

async function outcome(promise) {
  try {
    return { value: await promise };
  } catch (err) {
    return { error: err };
  }
}

function describe(o, expected) {
  if (o.error) return { error: `${o.error.name}: ${o.error.message}` };
  return { same: sameBits(o.value, expected) };
}

run(async () => {
  const model = await smallModel();
  const base = lib.randomBatch(model.config, 256, 5, 0);
  const expected = await model.predict(base);
  const results = [];
  for (let i = 0; i < 20; i++) {
    const b = cloneBatch(base);
    const out = new Float32Array(base.targetItem.length);
    switch (which) {
      case "transfer-input": {
        const p = model.predict(b);
        structuredClone(b.histItem.buffer, { transfer: [b.histItem.buffer] });
        structuredClone(b.targetItem.buffer, { transfer: [b.targetItem.buffer] });
        results.push(describe(await outcome(p), expected));
        break;
      }
      case "post-input": {
        const { port1, port2 } = new MessageChannel();
        const p = model.predict(b);
        port1.postMessage(b.histCat, [b.histCat.buffer]);
        port1.postMessage(b.histLen, [b.histLen.buffer]);
        port1.close();
        port2.close();
        results.push(describe(await outcome(p), expected));
        break;
      }
      case "resizable-input": {
        const rab = new ArrayBuffer(b.histItem.byteLength, { maxByteLength: b.histItem.byteLength * 2 });
        const view = new Int32Array(rab);
        view.set(b.histItem);
        const p = model.predict({ ...b, histItem: view });
        rab.resize(0);
        results.push(describe(await outcome(p), expected));
        break;
      }
      case "detach-out": {
        const p = model.predict(b, { out });
        structuredClone(out.buffer, { transfer: [out.buffer] });
        results.push(describe(await outcome(p), expected));
        break;
      }
      case "resizable-out": {
        const rab = new ArrayBuffer(out.byteLength, { maxByteLength: out.byteLength * 2 });
        const p = model.predict(b, { out: new Float32Array(rab) });
        rab.resize(0);
        results.push(describe(await outcome(p), expected));
        break;
      }
      case "alias-out": {
        // out over the memory of an input: refused before any work.
        const aliased = new Float32Array(b.histItem.buffer, 0, base.targetItem.length);
        results.push(describe(await outcome(model.predict(b, { out: aliased })), expected));
        const partial = new Float32Array(b.histLen.buffer, 4, base.targetItem.length - 1);
        results.push(describe(await outcome(model.predict({ ...b, targetItem: b.targetItem.subarray(1), targetCat: b.targetCat.subarray(1), histItem: b.histItem.subarray(40), histCat: b.histCat.subarray(40), histLen: b.histLen.subarray(1), user: b.user.subarray(1) }, { out: partial })), expected));
        break;
      }
      case "shared-input": {
        const sab = new Int32Array(new SharedArrayBuffer(b.histItem.byteLength));
        sab.set(b.histItem);
        results.push(describe(await outcome(model.predict({ ...b, histItem: sab })), expected));
        break;
      }
      default:
        throw new Error(`unknown case ${which}`);
    }
  }
  model.dispose();
  return { results };
});
