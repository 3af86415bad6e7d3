// The native sources are listed once (native/sources.gypi), for CMake and for node-gyp:
// every listed file exists, every engine and binding source is listed exactly once, and
// both build files read the list.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..");
const lists = (JSON.parse(readFileSync(path.join(ROOT, "native", "sources.gypi"), "utf8")) as { variables: Record<string, string[]> }).variables;

describe("one list of native sources", () => {
  it("lists every source of the engine and the binding exactly once, and only files that exist", () => {
    const listed = Object.values(lists).flat();
    for (const f of listed) expect(existsSync(path.join(ROOT, f)), f).toBe(true);
    expect(new Set(listed).size).toBe(listed.length);
    const onDisk = ["common", "data", "model", "cpu", "cuda", "napi", "train"].flatMap((dir) =>
      readdirSync(path.join(ROOT, "native", dir)).filter((f) => /\.(cpp|cu)$/.test(f)).map((f) => `native/${dir}/${f}`),
    );
    expect([...listed].sort()).toEqual(onDisk.sort());
  });

  it("CMakeLists.txt and binding.gyp both read it", () => {
    const cmake = readFileSync(path.join(ROOT, "CMakeLists.txt"), "utf8");
    const gyp = JSON.parse(readFileSync(path.join(ROOT, "binding.gyp"), "utf8")) as { includes: string[]; targets: { sources: string[] }[] };
    expect(gyp.includes).toEqual(["native/sources.gypi"]);
    for (const key of Object.keys(lists)) {
      expect(cmake, key).toContain(key);
      // node-gyp's build is one portable CPU engine: no CUDA, no probe, no ISA levels.
      if (!["dien_cuda_sources", "dien_isa_levels_sources", "dien_isa_run_sources", "dien_probe_sources"].includes(key)) expect(gyp.targets[0]!.sources, key).toContain(`<@(${key})`);
    }
    expect(gyp.targets[0]!.sources.some((s) => s.includes(".cpp") || s.includes(".cu"))).toBe(false);
  });
});
