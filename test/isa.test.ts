// Portable builds: the addon records the CPU features it was built for and refuses to
// load on a CPU that lacks one, with a DienError that says how to rebuild, instead of
// dying with SIGILL on the first predict. Tested the way it fails in the field: the
// default build (tuned for this machine) run under qemu-user emulating an older CPU.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel } from "../lib";
import { native } from "../lib/native";

// What `qemu-x86_64 -cpu Haswell` reports (of the features a build can require).
const HASWELL = ["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "crc32", "cx16", "sahf", "abm", "lzcnt", "movbe", "pclmul", "aes", "rdrnd", "bmi", "bmi2", "avx", "f16c", "fma", "avx2"];

function qemu(): string | undefined {
  if (os.arch() !== "x64" || os.platform() !== "linux") return undefined;
  const r = spawnSync("sh", ["-c", "command -v qemu-x86_64"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

describe("the ISA the addon was built for", () => {
  it("info() reports the built and the running ISA, and this machine has what the build uses", async () => {
    using m = await DienModel.create({ itemVocab: 10, catVocab: 3, maxLen: 4 });
    const { isa } = m.info();
    expect(typeof isa.march).toBe("string");
    const build = native().buildInfo();
    expect(isa.march).toBe(build.march);
    expect(build.isaNamesKnown).toBe(true);
    expect(build.missingIsa).toBe("");
    if (os.arch() === "x64") {
      expect(isa.running).toContain("sse3");
      for (const f of isa.built) expect(isa.running).toContain(f);
    }
  });

  const emulator = qemu();
  it.skipIf(!emulator)("under qemu emulating a Haswell CPU the addon refuses with a clear error, or runs when built for it", () => {
    const probe = `
      const { DienModel, randomBatch } = require(${JSON.stringify(path.join(__dirname, "..", "dist", "lib"))});
      DienModel.create({ itemVocab: 20, catVocab: 4, maxLen: 6 }, { seed: 1 })
        .then((m) => m.predict(randomBatch(m.config, 3)))
        .then((p) => console.log("RESULT " + JSON.stringify({ scores: p.length })))
        .catch((e) => console.log("RESULT " + JSON.stringify({ name: e.name, code: e.code, message: e.message })));`;
    const r = spawnSync(emulator!, ["-cpu", "Haswell", process.execPath, "-e", probe], { encoding: "utf8", timeout: 240_000 });
    expect(r.signal, r.stderr).toBeNull(); // SIGILL is exactly what must not happen
    expect(r.status, r.stderr).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    expect(line, r.stdout + r.stderr).toBeDefined();
    const result = JSON.parse(line!.slice(7)) as { scores?: number; name?: string; code?: string; message?: string };
    const beyond = native().buildInfo().builtIsa.split(" ").filter((f) => f && !HASWELL.includes(f));
    if (beyond.length === 0) {
      expect(result).toEqual({ scores: 3 });
      return;
    }
    expect(result.name).toBe("UnsupportedCpuError");
    expect(result.code).toBe("DIEN_UNSUPPORTED_CPU");
    expect(result.message).toContain("npm rebuild dien");
    expect(result.message).toContain("DIEN_MARCH=");
    for (const f of beyond.slice(0, 8)) expect(result.message).toContain(f);
  });
  if (!emulator) it("qemu-x86_64 (Debian's qemu-user) is not installed: the emulated-CPU test was skipped", () => undefined);
});
