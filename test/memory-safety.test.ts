// JS cannot pull memory out from under the native code. Each case runs in a child
// process, so that a crash (SIGSEGV, an abort, heap corruption) is a failed test rather
// than a lost run: after a call is made, its input arrays may be changed, detached or
// transferred, its `out` detached, and its worker thread terminated; `out` may not
// alias an input; shared and resizable memory is refused.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const CHILDREN = path.join(__dirname, "children");

interface ChildRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  result: Record<string, unknown> | undefined;
  output: string;
}

function child(script: string, args: (string | number)[], timeout = 120_000): ChildRun {
  const r = spawnSync(process.execPath, [path.join(CHILDREN, script), ...args.map(String)], { encoding: "utf8", timeout, env: process.env });
  const output = `${r.stdout}\n${r.stderr}`;
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  return { status: r.status, signal: r.signal, result: line ? (JSON.parse(line.slice(7)) as Record<string, unknown>) : undefined, output };
}

function expectClean(run: ChildRun): Record<string, unknown> {
  expect(run.signal, run.output).toBeNull();
  expect(run.status, run.output).toBe(0);
  expect(run.result, run.output).toBeDefined();
  expect(run.result!.error, run.output).toBeUndefined();
  return run.result!;
}

const TIMINGS = ["sync", "microtask", "immediate", "timeout"];

describe("inputs changed after the call are not seen", () => {
  const cases: [string, string][] = [
    ...["histItem", "histCat", "targetItem", "targetCat", "user", "histLen"].map((f): [string, string] => ["predict", f]),
    ...["histItem", "histCat", "items", "cats"].map((f): [string, string] => ["candidates", f]),
  ];
  it.each(cases)("%s: %s overwritten with out-of-range values mid-call", (api, field) => {
    for (const timing of TIMINGS) {
      const result = expectClean(child("mutate.cjs", [api, field, timing, 12]));
      expect(result, `${timing}`).toEqual({ iterations: 12, mismatches: 0, rejected: 0 });
    }
  });

  it("one element changed 1 ms after the call, 200 times: every result exact", () => {
    const result = expectClean(child("mutate.cjs", ["predict", "histItem", "timeout", 200]));
    expect(result).toEqual({ iterations: 200, mismatches: 0, rejected: 0 });
  });
});

describe("detached, transferred, resized and aliased memory", () => {
  it.each(["transfer-input", "post-input"])("%s: the call returns the exact result", (which) => {
    const { results } = expectClean(child("detach.cjs", [which])) as { results: unknown[] };
    expect(results).toHaveLength(20);
    for (const r of results) expect(r).toEqual({ same: true });
  });

  it.each([
    ["resizable-input", "TypeError: histItem: arrays over a resizable ArrayBuffer are not accepted; copy into a plain Int32Array"],
    ["resizable-out", "TypeError: options.out: arrays over a resizable ArrayBuffer are not accepted; copy into a plain Float32Array"],
    ["shared-input", "TypeError: histItem: arrays over a SharedArrayBuffer are not accepted"],
  ])("%s is refused before any work", (which, message) => {
    const { results } = expectClean(child("detach.cjs", [which])) as { results: { error?: string }[] };
    for (const r of results) expect(r.error).toContain(message);
  });

  it("detaching out mid-call is a TypeError, and nothing is written anywhere", () => {
    const { results } = expectClean(child("detach.cjs", ["detach-out"])) as { results: { error?: string }[] };
    for (const r of results) expect(r.error).toMatch(/^TypeError: options\.out: its buffer was detached or resized while the call ran/);
  });

  it("out overlapping an input is a RangeError", () => {
    const { results } = expectClean(child("detach.cjs", ["alias-out"])) as { results: { error?: string }[] };
    expect(results).toHaveLength(40);
    for (const [i, r] of results.entries()) expect(r.error).toContain(i % 2 === 0 ? "RangeError: options.out: overlaps the memory of histItem" : "RangeError: options.out: overlaps the memory of histLen");
  });
});

describe("worker threads terminated mid-call", () => {
  it("never take the process down", () => {
    const result = expectClean(child("terminate.cjs", [25], 180_000));
    expect(result).toEqual({ terminated: 25, finalLength: 8 });
  });
});
