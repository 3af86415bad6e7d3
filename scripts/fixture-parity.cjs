#!/usr/bin/env node
// Scores every reference fixture (test/fixtures: PyTorch float64 expectations) with the
// dien package that `require("dien")` finds from this file's folder, and fails unless
// probabilities and logits are within 1e-5 (norm-wise relative error, docs/model.md §14).
// Plain CommonJS with no test runner, so that any Node can run it: scripts/arm64-node-check.sh
// copies it into a project that installed the package from its tarball and runs it there
// with an arm64 Node under qemu.
//   node fixture-parity.cjs <fixtures dir>   (a copy, in a project where dien is installed)
"use strict";
const { readdirSync, readFileSync } = require("node:fs");
const path = require("node:path");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node fixture-parity.cjs <fixtures dir>");
  process.exit(2);
}
const { DienModel } = require("dien");

function relativeError(out, ref) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Number.isFinite(num) ? Math.sqrt(num / den) : Infinity;
}

async function main() {
  const files = new Set(readdirSync(dir));
  const names = [...files]
    .filter((f) => f.endsWith(".safetensors") && files.has(f.replace(/\.safetensors$/, ".json")))
    .map((f) => f.replace(/\.safetensors$/, ""))
    .sort();
  if (names.length === 0) throw new Error(`${dir}: no fixtures (name.safetensors with name.json)`);
  let worst = 0;
  let isa;
  for (const name of names) {
    const fx = JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8"));
    const batch = Object.fromEntries(Object.entries(fx.batch).map(([k, v]) => [k, Int32Array.from(v)]));
    const model = await DienModel.load(path.join(dir, `${name}.safetensors`), { device: "cpu" });
    isa = model.info().isa;
    for (const kind of ["probabilities", "logits"]) {
      const out = await model.predict(batch, { logits: kind === "logits" });
      const err = relativeError(out, fx.expected[kind]);
      worst = Math.max(worst, err);
      if (!(err <= 1e-5)) throw new Error(`${name} ${kind}: relative error ${err} > 1e-5`);
    }
    model.dispose();
  }
  console.log(JSON.stringify({ arch: process.arch, node: process.version, isa: isa.level, fixtures: names.length, worstRelativeError: worst }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
