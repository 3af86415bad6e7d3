// 10,000 concurrent calls (predict, scoreRequests, training steps) on the main thread and
// 2,500 in each of four worker threads, all at once, against the same calls made one by
// one; two more workers are terminated mid-call (test/children/concurrency.cjs). Runs in
// a child process: a crash is a failed test.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

describe("concurrency", () => {
  it("many callers and worker threads get exactly the sequential results", () => {
    const r = spawnSync(process.execPath, [path.join(__dirname, "children", "concurrency.cjs"), "10000", "4", "2500"], { encoding: "utf8", timeout: 240_000 });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.signal, output).toBeNull();
    expect(r.status, output).toBe(0);
    const res = JSON.parse(r.stdout.split("\n").find((l) => l.startsWith("RESULT "))!.slice(7)) as {
      main: { calls: number; steps: number; mismatches: number };
      workers: { calls: number; steps: number; mismatches: number }[];
      terminated: number;
    };
    expect(res.main).toMatchObject({ calls: 10_000, mismatches: 0 });
    expect(res.main.steps).toBeGreaterThan(100);
    expect(res.workers).toHaveLength(4);
    for (const w of res.workers) expect(w).toMatchObject({ calls: 2_500, mismatches: 0 });
    expect(res.terminated).toBe(2);
  }, 300_000);
});
