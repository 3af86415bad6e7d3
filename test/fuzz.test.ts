// Seeded fuzzing (test/children/fuzz.cjs): 10,000 mutated inputs per surface, each run in
// a child process so that a crash is a failed test. Every input is either accepted (and
// then works) or rejected with a clear error; valid inputs made differently (one in ten)
// are accepted. `npm run fuzz` runs more cases with fresh seeds.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const FUZZ = path.join(__dirname, "children", "fuzz.cjs");

describe.each(["weights", "batches", "data", "http", "vocab"])("fuzzed %s", (surface) => {
  it("10,000 seeded cases: no crash, every rejection clear, every control accepted", () => {
    const r = spawnSync(process.execPath, [FUZZ, surface, "1", "10000"], { encoding: "utf8", timeout: 300_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.signal, output).toBeNull();
    expect(r.status, output).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    const res = JSON.parse(line!.slice(7)) as { cases: number; accepted: number; rejected: number; controls: number; unclear: string[] };
    expect(res.unclear).toEqual([]);
    expect(res.cases).toBe(10_000);
    expect(res.controls).toBe(1_000);
    expect(res.rejected).toBeGreaterThan(5_000);
    expect(res.accepted).toBeGreaterThanOrEqual(res.controls);
  }, 300_000);
});
