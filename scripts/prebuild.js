#!/usr/bin/env node
// Makes the prebuilt addon that the npm package carries for one OS and architecture:
// every ISA level's engine and the CPU probe, CPU only (a CUDA build is a source build),
// into prebuilds/<platform>-<arch>/, where lib/native.ts looks after a source build.
//   node scripts/prebuild.js                  build for this machine (build-prebuild/)
//   node scripts/prebuild.js --from DIR       copy an existing build's dien-*.node
//   node scripts/prebuild.js --arch arm64     cross-build with Debian's aarch64 toolchain
//   --to DIR                                  the package folder to put prebuilds/ in (default: this one)
"use strict";
const { spawnSync } = require("node:child_process");
const { copyFileSync, mkdirSync, readdirSync, rmSync } = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const arch = opt("--arch") ?? process.arch;
let from = opt("--from");

if (!from) {
  const out = arch === process.arch ? "build-prebuild" : `build-prebuild-${arch}`;
  // Pinned, whatever the environment says: every level, CPU only, no tests.
  const defines = ["--CDDIEN_CUDA=OFF", "--CDDIEN_TESTS=OFF", "--CDDIEN_WERROR=OFF", "--CDDIEN_MARCH=", "--CDDIEN_ISA_LEVELS=auto", "--CDDIEN_SANITIZE="];
  if (arch !== process.arch) {
    if (arch !== "arm64" || process.arch !== "x64") throw new Error(`--arch ${arch}: only arm64 from x64 is set up (cmake/aarch64-linux-gnu.cmake)`);
    defines.push(`--CDCMAKE_TOOLCHAIN_FILE=${path.join(root, "cmake", "aarch64-linux-gnu.cmake")}`);
  }
  const r = spawnSync(process.execPath, [path.join(__dirname, "build-native.js"), "--out", out, ...defines], { stdio: "inherit", cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
  from = path.join(root, out, "Release");
}
const dest = path.join(opt("--to") ?? root, "prebuilds", `${process.platform}-${arch}`);
rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
const files = readdirSync(from).filter((f) => /^dien-[a-z0-9]+\.node$/.test(f));
if (!files.includes("dien-cpu.node")) throw new Error(`${from}: no dien-cpu.node (the probe); is it a build of this repository?`);
for (const f of files) copyFileSync(path.join(from, f), path.join(dest, f));
process.stderr.write(`prebuild: ${files.join(", ")} -> ${path.relative(root, dest)}\n`);
