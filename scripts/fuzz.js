#!/usr/bin/env node
// `npm run fuzz`: the seeded fuzz surfaces of test/children/fuzz.cjs with more cases and
// fresh seeds, each run in its own child process (a crash is counted, not fatal).
//   node scripts/fuzz.js [--cases 100000] [--seed N] [--runs 3]
"use strict";
const { spawnSync } = require("node:child_process");
const path = require("node:path");
const { parseArgs } = require("node:util");

const { values } = parseArgs({ options: { cases: { type: "string", default: "100000" }, seed: { type: "string" }, runs: { type: "string", default: "1" } } });
const fuzz = path.join(__dirname, "..", "test", "children", "fuzz.cjs");
let failed = false;
console.log("| surface | seed | cases | accepted | rejected (clear) | controls | unclear | crashed |");
console.log("|---|---:|---:|---:|---:|---:|---:|---|");
for (let r = 0; r < Number(values.runs); r++) {
  const seed = values.seed !== undefined ? Number(values.seed) + r : Math.floor(Math.random() * 2 ** 31);
  for (const surface of ["weights", "batches", "data", "http", "vocab"]) {
    const p = spawnSync(process.execPath, [fuzz, surface, String(seed), values.cases], { encoding: "utf8", maxBuffer: 64 << 20 });
    const line = p.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    const res = line ? JSON.parse(line.slice(7)) : undefined;
    const crashed = p.signal ?? (p.status !== 0 ? `exit ${p.status}` : "no");
    if (!res || res.error || res.unclear.length > 0 || crashed !== "no") failed = true;
    console.log(`| ${surface} | ${seed} | ${res?.cases ?? "-"} | ${res?.accepted ?? "-"} | ${res?.rejected ?? "-"} | ${res?.controls ?? "-"} | ${res?.unclear?.length ?? "-"} | ${crashed} |`);
    for (const u of res?.unclear ?? []) console.log(`  ${u}`);
    if (res?.error) console.log(`  ${res.error}`);
    if (crashed !== "no") console.log(p.stderr.split("\n").slice(-20).join("\n"));
  }
}
process.exitCode = failed ? 1 : 0;
