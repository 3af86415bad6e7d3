// Runtime ISA dispatch: the engine is built once per ISA level (avx512, avx2, baseline),
// and the loader asks a baseline-compiled probe which of them this CPU runs, so one
// build serves every CPU of its architecture. Tested the way it fails in the field: the
// build made here, run under qemu-user emulating an AVX2 CPU and a pre-AVX one, must
// pick the level that CPU has and score exactly as that level does here.
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienModel } from "../lib";
import { native } from "../lib/native";
import { amdGeneration, describeMachine, machineInfo } from "../bench/machine";

const ROOT = path.join(__dirname, "..");
const PROBE = path.join(__dirname, "children", "isa-probe.cjs");
const ENGINE = (level: string) => path.join(ROOT, "build", "Release", `dien-${level}.node`);

interface ProbeResult {
  level?: string;
  available?: string[];
  scores?: number[];
  name?: string;
  code?: string;
  message?: string;
}

/** Runs the probe child (under an emulator when given) and returns its RESULT line. */
function probe(env: NodeJS.ProcessEnv, emulator?: string[]): ProbeResult {
  const argv = [...(emulator ?? []), process.execPath, PROBE];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 300_000, env: { ...process.env, DIEN_ISA: "", DIEN_ADDON_PATH: "", ...env } });
  expect(r.signal, r.stderr).toBeNull(); // SIGILL is exactly what must not happen
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  expect(line, r.stdout + r.stderr).toBeDefined();
  return JSON.parse(line!.slice(7)) as ProbeResult;
}

function qemu(): string | undefined {
  if (os.arch() !== "x64" || os.platform() !== "linux") return undefined;
  const r = spawnSync("sh", ["-c", "command -v qemu-x86_64"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// The dispatch's own levels; a DIEN_MARCH build (native / custom) has one engine only.
const dispatching = ["avx512", "avx2", "baseline"].includes(native().buildInfo().level);

describe("runtime ISA dispatch", () => {
  it("info() reports the level in use, the levels this CPU runs, and features this machine has", async () => {
    using m = await DienModel.create({ itemVocab: 10, catVocab: 3, maxLen: 4 });
    const { isa } = m.info();
    const build = native().buildInfo();
    expect(isa.level).toBe(build.level);
    expect(isa.march).toBe(build.march);
    expect(isa.available.length).toBeGreaterThan(0);
    expect(build.isaNamesKnown).toBe(true);
    expect(build.missingIsa).toBe("");
    for (const f of isa.built) expect(isa.running).toContain(f);
    if (dispatching) expect(isa.available).toContain("baseline");
    if (dispatching && !process.env.DIEN_ISA && !process.env.DIEN_ADDON_PATH) {
      // The probe's own answer, read here: the loader took the first level this CPU lacks nothing of.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { cpu } = require(path.join(ROOT, "build", "Release", "dien-cpu.node")) as { cpu: { levels: { name: string; missing: string }[] } };
      expect(isa.level).toBe(cpu.levels.find((l) => l.missing === "")!.name);
      expect(isa.available).toEqual(cpu.levels.filter((l) => l.missing === "").map((l) => l.name));
    }
  });

  it.skipIf(!dispatching)("every level this CPU runs scores like the others, and DIEN_ISA picks it", () => {
    const runs = probe({}).available ?? [];
    expect(runs.length).toBeGreaterThan(0);
    const results = runs.map((level) => ({ level, r: probe({ DIEN_ISA: level }) }));
    for (const { level, r } of results) {
      expect(r.level).toBe(level);
      expect(r.scores).toHaveLength(5);
      // Levels differ in vector width and FMA contraction, not in the math (docs/model.md tolerances).
      r.scores!.forEach((s, i) => expect(Math.abs(s - results[0]!.r.scores![i]!)).toBeLessThanOrEqual(1e-6));
    }
  });

  // The entry point's check runs first only if nothing of the level's own code runs when
  // the file is loaded: no C++ static constructors (GCC names them _GLOBAL__sub_I_<file>).
  // What remains in .init_array is the CUDA runtime's and its registrations, compiled once.
  it.skipIf(!dispatching || os.platform() !== "linux")("no engine level runs code of its own when it is loaded", () => {
    for (const level of ["avx512", "avx2", "baseline"]) {
      const r = spawnSync("nm", [ENGINE(level)], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain("dienInitAddon"); // the symbols are there to be read
      expect(r.stdout.split("\n").filter((l) => l.includes("_GLOBAL__sub_I"))).toEqual([]);
    }
  });

  it("DIEN_ISA: a value that is no level, or a level this build lacks, fails naming the variable", () => {
    const bad = probe({ DIEN_ISA: "avx1024" });
    expect(bad.code).toBe("DIEN_BAD_CONFIG");
    expect(bad.message).toContain('DIEN_ISA: expected "auto" or one of');
    expect(bad.message).toContain('"avx1024"');
    const absent = dispatching ? "native" : "baseline";
    const missing = probe({ DIEN_ISA: absent });
    expect(missing.code).toBe("DIEN_NATIVE_LOAD");
    expect(missing.message).toContain(`DIEN_ISA=${absent}: this build has no ${absent} engine`);
  });

  // Each level's parity suite against the PyTorch fixtures, and the quantised forward
  // (which decodes fp16 with F16C where the level has it), in a process forced to it.
  const levels = dispatching ? (probe({}).available ?? []).filter((l) => l !== native().buildInfo().level) : [];
  for (const level of levels)
    it(`DIEN_ISA=${level}: the parity and quantisation suites pass`, () => {
      const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "test/parity.test.ts", "test/quantize.test.ts"], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 300_000,
        env: { ...process.env, DIEN_ISA: level, DIEN_ADDON_PATH: "" },
      });
      expect(r.status, r.stdout.slice(-4000) + r.stderr.slice(-2000)).toBe(0);
    });

  const emulator = qemu();
  describe.skipIf(!emulator || !dispatching)("under qemu-user, the build made here", () => {
    it("on an AVX2 CPU (Haswell) runs the avx2 engine and scores exactly as it does here", () => {
      const here = probe({ DIEN_ISA: "avx2" });
      const there = probe({}, [emulator!, "-cpu", "Haswell"]);
      expect(there.level).toBe("avx2");
      expect(there.available).toEqual(["avx2", "baseline"]);
      expect(there.scores).toEqual(here.scores);
      // Asked for more than that CPU has: a clear error, no SIGILL.
      const refused = probe({ DIEN_ISA: "avx512" }, [emulator!, "-cpu", "Haswell"]);
      expect(refused.code).toBe("DIEN_UNSUPPORTED_CPU");
      expect(refused.message).toMatch(/DIEN_ISA=avx512: this CPU lacks instructions the avx512 engine uses \(.*avx512f.*\); it runs avx2, baseline/);
    });

    it("on a CPU without AVX (Nehalem) runs the baseline engine and scores exactly as it does here", () => {
      const here = probe({ DIEN_ISA: "baseline" });
      const there = probe({}, [emulator!, "-cpu", "Nehalem"]);
      expect(there.level).toBe("baseline");
      expect(there.available).toEqual(["baseline"]);
      expect(there.scores).toEqual(here.scores);
    });

    it("an engine loaded by path on a CPU that lacks its level refuses at its entry point instead of dying", () => {
      const r = probe({ DIEN_ADDON_PATH: ENGINE("avx2") }, [emulator!, "-cpu", "Nehalem"]);
      expect(r.name).toBe("UnsupportedCpuError");
      expect(r.code).toBe("DIEN_UNSUPPORTED_CPU");
      expect(r.message).toContain("ISA level avx2");
      for (const f of ["avx2", "fma"]) expect(r.message).toContain(f);
    });
  });
  if (!emulator) it("qemu-x86_64 (Debian's qemu-user) is not installed: the emulated-CPU tests were skipped", () => undefined);
});

// Benchmarks name the CPU generation beside the model name, which a hypervisor often
// reduces to "AMD EPYC": Zen 4 halves a 512-bit FMA, Zen 5 does not, so the same
// fraction of peak means different things on the two.
describe("the machine a benchmark names", () => {
  it("tells AMD generations apart by family and model", () => {
    expect(amdGeneration(0x19, 0x01)).toBe("Zen 3"); // Milan
    expect(amdGeneration(0x19, 0x11)).toBe("Zen 4"); // Genoa
    expect(amdGeneration(0x19, 0xa0)).toBe("Zen 4"); // Bergamo
    expect(amdGeneration(0x19, 0x21)).toBe("Zen 3"); // Vermeer
    expect(amdGeneration(0x1a, 0x02)).toBe("Zen 5"); // Turin
    expect(amdGeneration(0x17, 0x31)).toBe("Zen 2"); // Rome
    expect(amdGeneration(0x06, 0x8f)).toBe(""); // not AMD's numbering
  });

  it("describes this machine with its core count and widest vectors", () => {
    const m = machineInfo();
    expect(m.cores).toBe(os.cpus().length);
    const text = describeMachine(m);
    expect(text).toContain(m.cpu);
    expect(text).toMatch(/, \d+ cores$/);
    if (m.vectors) expect(text).toContain(m.vectors);
    expect(describeMachine({ cpu: "AMD EPYC", cores: 2, family: 25, model: 17, generation: "Zen 4", vectors: "AVX-512" })).toBe("AMD EPYC (family 25 model 17, Zen 4, AVX-512), 2 cores");
  });
});
