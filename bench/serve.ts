/**
 * `npm run bench:serve`: the HTTP scoring service (`dien serve`) under autocannon on
 * loopback next to the in-process scorer in the same run, paper defaults, K = 100
 * candidates per request, histories of 1..100. Prints requests/s, candidate scores/s,
 * p50 / p99 latency, the HTTP / in-process ratio and the p99 at 80 % of the maximum
 * rate; writes bench/results/serving.{json,md} (docs/perf/serving.md quotes them).
 *
 * The maximum is closed-loop (autocannon, every connection sends its next request when
 * the last is answered). The 80 % point is open-loop: requests leave at a constant rate
 * whatever the server does, and latency counts from when a request was due, so a stall
 * is not hidden (autocannon's own rate limit sends each second's quota in a burst).
 *   node dist/bench/serve.js [--seconds 10] [--connections 32] [--candidates 100] [--runs 3]
 *                            [--max-batch 64] [--max-batch-candidates 2048]
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as net from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";

import autocannon from "autocannon";

import { DienModel, createScorer, paperDefaults, randomRequests } from "../lib";
import type { ScoreRequest } from "../lib/types";
import { describeMachine, machineInfo } from "./machine";

const ROOT = path.resolve(__dirname, "..", "..");
const RESULTS = path.join(ROOT, "bench", "results");
const CLI = path.join(ROOT, "dist", "lib", "cli", "dien.js");

interface Load {
  requestsPerSecond: number;
  candidatesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function body(r: ScoreRequest): string {
  const h = r.history;
  return JSON.stringify({
    user: h.user,
    history: { items: Array.from(h.histItem), cats: Array.from(h.histCat) },
    candidates: Array.from(r.candidates.items, (item, k) => ({ item, cat: r.candidates.cats[k]! })),
  });
}

/** The in-process scorer with `concurrency` callers, each scoring its next request as soon as the last resolves. */
async function inProcess(weights: string, requests: ScoreRequest[], seconds: number, concurrency: number, K: number, maxBatch: number, maxBatchCandidates: number): Promise<Load> {
  using model = await DienModel.load(weights);
  const scorer = createScorer(model, { maxBatch, maxBatchCandidates, maxDelayMs: 1, maxQueue: 4096 });
  for (let i = 0; i < 50; i++) await scorer.score(requests[i]!); // warm-up
  const latencies: number[] = [];
  let done = 0;
  let next = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const r = requests[next++ % requests.length]!;
        const s = performance.now();
        await scorer.score(r);
        latencies.push(performance.now() - s);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  await scorer.close();
  latencies.sort((a, b) => a - b);
  return { requestsPerSecond: done / elapsed, candidatesPerSecond: (done * K) / elapsed, p50: latencies[Math.floor(latencies.length / 2)]!, p99: latencies[Math.floor(latencies.length * 0.99)]!, errors: 0, non2xx: 0 };
}

export function startServer(weights: string, maxBatch: number, maxBatchCandidates: number): Promise<{ child: ChildProcess; url: string }> {
  const args = [CLI, "serve", "--weights", weights, "--port", "0", "--max-queue", "4096", "--max-batch", String(maxBatch), "--max-batch-candidates", String(maxBatchCandidates)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on("exit", (code) => reject(new Error(`dien serve exited with ${code} before listening`)));
  });
}

export async function http(url: string, bodies: string[], seconds: number, connections: number, K: number): Promise<Load> {
  // Fixed bodies, cycled per connection: autocannon builds each request's bytes once, so
  // the load generator takes as little as possible of the CPU the server needs.
  const result = await autocannon({
    url: `${url}/v1/score`,
    connections,
    duration: seconds,
    requests: bodies.slice(0, 256).map((body) => ({ method: "POST" as const, headers: { "content-type": "application/json" }, body })),
  });
  const ok = result.requests.total - result.non2xx;
  return {
    requestsPerSecond: ok / seconds,
    candidatesPerSecond: (ok * K) / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/**
 * Open-loop load: one request every 1/rate s for `seconds`, latency counted from each
 * request's due time. Raw keep-alive sockets with the request bytes built once, so the
 * generator costs the server's cores little (Node's http client would take a good part
 * of one core at these rates); a request goes out on an idle socket or a new one.
 */
export async function paced(url: string, bodies: string[], seconds: number, K: number, rate: number): Promise<Load> {
  const target = new URL(`${url}/v1/score`);
  const port = Number(target.port);
  const wire = bodies.map((b) => Buffer.from(`POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`));
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let inFlight = 0;
  const idle: net.Socket[] = [];
  const all: net.Socket[] = [];
  const due = new Map<net.Socket, number>();
  const open = (): net.Socket => {
    const socket = net.connect(port, target.hostname);
    socket.setNoDelay(true);
    let buffered: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      for (;;) {
        const head = buffered.indexOf("\r\n\r\n");
        if (head < 0) return;
        const header = buffered.subarray(0, head).toString("latin1");
        const length = Number(/content-length: *(\d+)/i.exec(header)?.[1] ?? 0);
        if (buffered.length < head + 4 + length) return;
        buffered = buffered.subarray(head + 4 + length);
        inFlight--;
        if (header.startsWith("HTTP/1.1 200")) latencies.push(performance.now() - due.get(socket)!);
        else non2xx++;
        idle.push(socket);
      }
    });
    socket.on("error", () => {
      errors++;
      inFlight--;
    });
    all.push(socket);
    return socket;
  };
  const start = performance.now();
  const total = Math.round(seconds * rate);
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + (sent * 1000) / rate <= now) {
        const socket = idle.pop() ?? open();
        due.set(socket, start + (sent * 1000) / rate);
        inFlight++;
        socket.write(wire[sent % wire.length]!);
        sent++;
      }
      if (sent < total || inFlight > 0) setTimeout(tick, 0.5);
      else resolve();
    };
    tick();
  });
  const elapsed = (performance.now() - start) / 1000;
  for (const socket of all) socket.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requestsPerSecond: latencies.length / elapsed,
    candidatesPerSecond: (latencies.length * K) / elapsed,
    p50: latencies[Math.floor(latencies.length / 2)] ?? NaN,
    p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN,
    errors,
    non2xx,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "10" },
      connections: { type: "string", default: "32" },
      candidates: { type: "string", default: "100" },
      runs: { type: "string", default: "3" },
      "max-batch": { type: "string", default: "64" },
      "max-batch-candidates": { type: "string", default: "2048" },
    },
  });
  const seconds = Number(values.seconds), connections = Number(values.connections), K = Number(values.candidates), runs = Number(values.runs);
  const maxBatch = Number(values["max-batch"]);
  const maxBatchCandidates = Number(values["max-batch-candidates"]);
  const dir = mkdtempSync(path.join(os.tmpdir(), "dien-serve-bench-"));
  const weights = path.join(dir, "paper.safetensors");
  try {
    {
      using model = await DienModel.create(paperDefaults(), { seed: 1 });
      await model.save(weights);
    }
    const requests = randomRequests((await DienModel.load(weights)).config, 2000, 42, { minLen: 1, minCandidates: K, maxCandidates: K });
    const bodies = requests.map(body);
    const machine = machineInfo();
    console.log(`serving benchmark: paper defaults, K=${K}, histories 1..100, ${connections} concurrent callers, maxBatch ${maxBatch} / ${maxBatchCandidates} candidates, ${seconds} s x ${runs} runs, ${describeMachine(machine)}`);
    const inproc: Load[] = [];
    const maxHttp: Load[] = [];
    const server = await startServer(weights, maxBatch, maxBatchCandidates);
    try {
      await http(server.url, bodies, 3, connections, K); // warm-up: JIT, allocations, caches
      for (let r = 0; r < runs; r++) {
        maxHttp.push(await http(server.url, bodies, seconds, connections, K));
        inproc.push(await inProcess(weights, requests, seconds, connections, K, maxBatch, maxBatchCandidates));
      }
      const best = median(maxHttp.map((l) => l.requestsPerSecond));
      const paced80: Load[] = [];
      for (let r = 0; r < runs; r++) paced80.push(await paced(server.url, bodies, seconds, K, 0.8 * best));
      const pick = (ls: Load[]) => ls.find((l) => l.requestsPerSecond === median(ls.map((x) => x.requestsPerSecond)))!;
      // The run with the median p99: tails are what this row is about.
      const at80 = paced80.find((l) => l.p99 === median(paced80.map((x) => x.p99)))!;
      const rows: [string, Load][] = [
        ["in-process scorer.score()", pick(inproc)],
        ["HTTP, maximum rate", pick(maxHttp)],
        [`HTTP at 80 % (${Math.round(0.8 * best)} req/s, open loop)`, at80],
      ];
      const ratio = pick(maxHttp).candidatesPerSecond / pick(inproc).candidatesPerSecond;
      const lines = [
        "| load | requests/s | candidate scores/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|",
        ...rows.map(([name, l]) => `| ${name} | ${l.requestsPerSecond.toFixed(0)} | ${l.candidatesPerSecond.toFixed(0)} | ${l.p50.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.errors + l.non2xx} |`),
      ];
      const summary = [
        `HTTP / in-process candidate throughput: ${(ratio * 100).toFixed(0)} % (target >= 80 %)`,
        `p99 at 80 % of the maximum rate: ${at80.p99.toFixed(1)} ms, the median of ${runs} runs (${paced80.map((l) => l.p99.toFixed(1)).join(", ")}) (target <= 50 ms)`,
      ];
      console.log([...lines, "", ...summary].join("\n"));
      mkdirSync(RESULTS, { recursive: true });
      const date = new Date().toISOString().slice(0, 10);
      writeFileSync(path.join(RESULTS, "serving.json"), JSON.stringify({ date, machine, K, seconds, runs, connections, inProcess: inproc, http: maxHttp, at80: paced80, ratio }, null, 2) + "\n");
      writeFileSync(path.join(RESULTS, "serving.md"), [`Serving benchmark, ${date}, ${describeMachine(machine)}; medians of ${runs} runs of ${seconds} s.`, "", ...lines, "", ...summary, ""].join("\n"));
    } finally {
      server.child.kill("SIGTERM");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
