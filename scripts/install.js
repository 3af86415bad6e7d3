#!/usr/bin/env node
// `npm install dien` runs this. Where the package carries a prebuilt addon for this OS
// and architecture (prebuilds/<platform>-<arch>/, made by scripts/prebuild.js: every ISA
// level and the CPU probe) and it loads here, nothing is compiled; otherwise, or when
// asked (DIEN_BUILD_FROM_SOURCE=1, or `npm install dien --build-from-source`), the addon
// is built from source with CMake (scripts/build-native.js), as before.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync } = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const say = (line) => process.stderr.write(`dien: ${line}\n`);
const truthy = (v) => v !== undefined && v !== "" && v !== "0" && v !== "false";

function build() {
  const r = spawnSync(process.execPath, [path.join(__dirname, "build-native.js")], { stdio: "inherit", cwd: root });
  process.exit(r.status ?? 1);
}

if (truthy(process.env.DIEN_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source)) build();
// A settings change (a CUDA build, one -march) is a source build too.
for (const name of ["DIEN_CUDA", "DIEN_MARCH", "DIEN_ISA_LEVELS"])
  if (truthy(process.env[name]) || truthy(process.env[`npm_config_${name.toLowerCase()}`])) {
    say(`${name} is set: building from source`);
    build();
  }

const dir = path.join(root, "prebuilds", `${process.platform}-${process.arch}`);
if (!existsSync(path.join(dir, "dien-cpu.node"))) build();
// Load it in a child, as the package will: the probe, then the engine it picks (a libc
// or Node-API mismatch shows here, not at the user's first require).
const check = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(root, "dist", "lib", "native.js"))}).native()`], {
  cwd: root,
  encoding: "utf8",
  env: { ...process.env, DIEN_ISA: "", DIEN_ADDON_PATH: "" },
});
if (check.status !== 0) {
  say(`the prebuilt addon for ${process.platform}-${process.arch} does not load here; building from source`);
  say((check.stderr || "").trim().split("\n").slice(0, 6).join("\n  "));
  build();
}
say(`using the prebuilt addon for ${process.platform}-${process.arch} (DIEN_BUILD_FROM_SOURCE=1 compiles it instead)`);
