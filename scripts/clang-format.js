#!/usr/bin/env node
// clang-format over native/ (style in .clang-format): --check reports files that differ
// and fails; --fix rewrites them.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const mode = process.argv[2];
if (mode !== "--check" && mode !== "--fix") {
  console.error("usage: clang-format.js --check | --fix");
  process.exit(2);
}

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(h|cpp|cu|cuh)$/.test(e.name) ? [p] : [];
  });
}

const files = sources(path.join(root, "native")).map((f) => path.relative(root, f));
// The binary the clang-format package ships for this platform (its wrapper would add a stack trace to every finding).
const binary = require("clang-format").getNativeBinary();
const args = mode === "--check" ? ["--dry-run", "--Werror", ...files] : ["-i", ...files];
const r = spawnSync(binary, ["--style=file", ...args], { cwd: root, stdio: "inherit" });
if (r.error) throw r.error;
if (r.status !== 0 && mode === "--check") console.error("clang-format: run `npm run format` to fix the files above");
process.exit(r.status ?? 1);
