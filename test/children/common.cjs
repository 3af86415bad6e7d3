// Shared by the child processes of test/memory-safety.test.ts: the built library, a
// small model, and the one line each child prints for the parent to read.
"use strict";
const path = require("node:path");

const lib = require(path.join(__dirname, "..", "..", "dist", "lib"));

const CONFIG = { model: "dien", itemVocab: 500, catVocab: 20, userVocab: 30, maxLen: 40 };

async function smallModel() {
  return lib.DienModel.create(CONFIG, { seed: 7 });
}

function report(result) {
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}

// Runs main; any escaped error is reported as a failure with exit code 3 (a crash
// shows as a signal or another exit code).
function run(main) {
  main().then(
    (result) => report(result),
    (err) => {
      report({ error: String(err && err.stack ? err.stack : err) });
      process.exitCode = 3;
    },
  );
}

function sameBits(a, b) {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function cloneBatch(b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) out[k] = v.slice();
  return out;
}

module.exports = { lib, CONFIG, smallModel, report, run, sameBits, cloneBatch };
