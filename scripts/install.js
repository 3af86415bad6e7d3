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
// CMake's true constants: DIEN_TESTS=off, DIEN_CUDA=no and the like are off.
const isOn = (v) => v !== undefined && /^(on|true|yes|y|1)$/i.test(v);

function build() {
  const r = spawnSync(process.execPath, [path.join(__dirname, "build-native.js")], { stdio: "inherit", cwd: root });
  process.exit(r.status ?? 1);
}

if (isOn(process.env.DIEN_BUILD_FROM_SOURCE) || isOn(process.env.npm_config_build_from_source)) build();
// A build the prebuilt addon is not (CPU only, every ISA level) is a source build: a
// setting that asks for CUDA, one -march, other levels, tests or sanitizers.
const setting = (name) => {
  const v = process.env[name] ?? process.env[`npm_config_${name.toLowerCase()}`];
  return v === undefined || v === "" ? undefined : v.toLowerCase();
};
const differs = {
  DIEN_CUDA: isOn, // the prebuilt has no CUDA (auto: see below)
  DIEN_MARCH: () => true,
  DIEN_ISA_LEVELS: (v) => v !== "auto",
  DIEN_TESTS: isOn,
  DIEN_WERROR: isOn,
  DIEN_SANITIZE: () => true,
};
for (const [name, isDifferent] of Object.entries(differs)) {
  const v = setting(name);
  if (v !== undefined && isDifferent(v)) {
    say(`${name}=${v}: building from source`);
    build();
  }
}
// DIEN_CUDA=auto (the default) with an NVIDIA driver here: the source build would have CUDA.
if ((setting("DIEN_CUDA") ?? "auto") === "auto" && existsSync("/proc/driver/nvidia/version")) {
  say("an NVIDIA driver is present: building from source for the CUDA backend (DIEN_CUDA=off uses the prebuilt CPU addon)");
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
