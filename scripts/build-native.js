#!/usr/bin/env node
// Builds the native addon with cmake-js.
//   node scripts/build-native.js         a source build (scripts/install.js runs it when no
//                                        prebuilt addon fits): the addon alone, with the
//                                        settings of CMakeLists.txt (DIEN_CUDA,
//                                        DIEN_ISA_LEVELS, ... from the environment or npm config)
//   node scripts/build-native.js --dev   this repository's own build (npm test, CI): also
//                                        the native tests and benchmark, -Werror, and the
//                                        CUDA sources whenever a CUDA compiler is found
//   --out DIR, and any --CDNAME=VALUE, are passed on (scripts/asan-check.sh uses them).
"use strict";
const { spawnSync } = require("node:child_process");
const os = require("node:os");
const path = require("node:path");

const args = process.argv.slice(2);
const dev = args.includes("--dev");
let out = "build";
const extra = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--dev") continue;
  if (args[i] === "--out") out = args[++i];
  else extra.push(args[i]);
}

const defines = [];
if (dev) {
  defines.push("--CDDIEN_TESTS=ON", "--CDDIEN_WERROR=ON");
  if (!process.env.DIEN_CUDA) defines.push("--CDDIEN_CUDA=ON");
}
const cmakeJs = require.resolve("cmake-js/bin/cmake-js");
const parallel = String(typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
const common = ["--out", out, ...defines, ...extra];

function run(step, stepArgs) {
  const r = spawnSync(process.execPath, [cmakeJs, step, ...stepArgs], { stdio: "inherit", cwd: path.join(__dirname, "..") });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

// cmake-js build only configures a fresh folder; configure every time so that changed
// settings take effect (CMake keeps the build files when nothing changed).
run("configure", common);
run("build", [...common, "--parallel", parallel]);
