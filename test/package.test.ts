// The npm package installs with no compiler: the packed tarball, carrying the prebuilt
// addon for this OS and architecture (every ISA level and the CPU probe), is installed
// into a fresh project with only node and sh on PATH (no cmake, cc, g++ or make), and
// scores exactly as this checkout does.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { DienModel, randomBatch } from "../lib";

const ROOT = path.join(__dirname, "..");
const NPM = path.join(path.dirname(process.execPath), "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
const dir = mkdtempSync(path.join(tmpdir(), "dien-package-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env, timeout: 300_000 });
  expect(r.status, `${cmd} ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const CONSUMER = `
const { DienModel, randomBatch } = require("dien");
DienModel.create({ itemVocab: 30, catVocab: 5, hidden: 8, maxLen: 10 }, { seed: 4 }).then(async (m) => {
  const p = await m.predict(randomBatch(m.config, 4, 9));
  console.log("RESULT " + JSON.stringify({ level: m.info().isa.level, scores: Array.from(p) }));
});`;

describe.skipIf(!existsSync(NPM) || process.platform !== "linux")("the packed package", () => {
  it("installs from its tarball with no compiler or CMake on PATH, and scores as this checkout does", async () => {
    // The package's files (as `npm pack` lists them) in a staging folder, with this
    // checkout's build as its prebuilt addon, packed as after `npm run build:prebuilt`;
    // the checkout's own prebuilds/ is left alone.
    const listed = JSON.parse(sh(process.execPath, [NPM, "pack", "--dry-run", "--ignore-scripts", "--json"], ROOT).stdout) as { files: { path: string }[] }[];
    const staging = path.join(dir, "package");
    for (const f of listed[0]!.files.map((x) => x.path).filter((p) => !p.startsWith("prebuilds/"))) {
      mkdirSync(path.dirname(path.join(staging, f)), { recursive: true });
      copyFileSync(path.join(ROOT, f), path.join(staging, f));
    }
    sh(process.execPath, [path.join(ROOT, "scripts", "prebuild.js"), "--from", path.join(ROOT, "build", "Release"), "--to", staging], ROOT);
    const packed = sh(process.execPath, [NPM, "pack", "--ignore-scripts", "--json", "--pack-destination", dir], staging);
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = info[0]!.files.map((f) => f.path);
    expect(files).toContain(`prebuilds/linux-${process.arch}/dien-cpu.node`);
    expect(files).toContain(`prebuilds/linux-${process.arch}/dien-baseline.node`);
    expect(files.some((f) => f.startsWith("build/"))).toBe(false);

    // A PATH with node and sh alone.
    const bin = path.join(dir, "bin");
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, "node"));
    symlinkSync("/bin/sh", path.join(bin, "sh"));
    const env = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache } as NodeJS.ProcessEnv;
    for (const tool of ["cmake", "cc", "gcc", "g++", "c++", "make"]) expect(spawnSync("sh", ["-c", `command -v ${tool}`], { env }).status, tool).not.toBe(0);

    const project = path.join(dir, "consumer");
    mkdirSync(project);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
    const install = sh(process.execPath, [NPM, "install", path.join(dir, info[0]!.filename), "--prefer-offline", "--no-audit", "--no-fund", "--foreground-scripts"], project, env);
    expect(install.stdout + install.stderr).toContain(`dien: using the prebuilt addon for linux-${process.arch}`);
    const installed = path.join(project, "node_modules", "dien");
    expect(existsSync(path.join(installed, "build"))).toBe(false); // nothing was compiled
    expect(readdirSync(path.join(installed, "prebuilds", `linux-${process.arch}`))).toContain("dien-cpu.node");

    const run = sh(process.execPath, ["-e", CONSUMER], project, env);
    const result = JSON.parse(run.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7)) as { level: string; scores: number[] };
    using m = await DienModel.create({ itemVocab: 30, catVocab: 5, hidden: 8, maxLen: 10 }, { seed: 4 });
    expect(result.level).toBe(m.info().isa.level);
    expect(result.scores).toEqual(Array.from(await m.predict(randomBatch(m.config, 4, 9))));
  });
});
