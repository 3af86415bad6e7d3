// `dien serve` end to end: the real server on an ephemeral port, spoken to over HTTP.
// Valid and malformed requests, string ids, limits (400 / 413 / 503), metrics,
// draining on SIGTERM, reloading on SIGHUP and /admin/reload with good and corrupt files.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { DienModel, Vocabulary, randomRequests } from "../lib";
import { dienPlugin } from "../lib/serving";

const CLI = path.join(__dirname, "..", "dist", "lib", "cli", "dien.js");
const CONFIG = { model: "dien", itemVocab: 50, catVocab: 8, userVocab: 6, dItem: 8, dCat: 4, dUser: 4, hidden: 12, maxLen: 20 } as const;
const tokens = (prefix: string, n: number) => ["", ...Array.from({ length: n - 1 }, (_, i) => `${prefix}${i + 1}`)];
const VOCAB = { items: new Vocabulary(tokens("item", 50)), cats: new Vocabulary(tokens("cat", 8)), users: new Vocabulary(tokens("user", 6)) };

let dir: string;
let weights: string;
let model: DienModel; // the served file's model, to compute expected scores

interface Server {
  child: ChildProcess;
  url: string;
  stderr(): string;
  exit: Promise<number | null>;
}

function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--threads", "2", ...args], { env: { ...process.env, ...env } });
  let err = "";
  let out = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, stderr: () => err, exit });
    });
    void exit.then((code) => reject(new Error(`dien serve exited with ${code}: ${err}`)));
  });
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/score`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes a file next to target and renames it over target, as every deploy should. */
function replace(target: string, bytes: Uint8Array): void {
  writeFileSync(`${target}.tmp`, bytes);
  renameSync(`${target}.tmp`, target);
}

const request = { user: 2, history: { items: [3, 4, 5], cats: [1, 2, 3] }, candidates: [{ item: 7, cat: 1 }, { item: 9, cat: 2 }, { item: 0, cat: 0 }] };

async function expected(m: DienModel, items: number[], cats: number[], user: number, cand: { item: number; cat: number }[]) {
  return Array.from(await m.scoreCandidates({ histItem: Int32Array.from(items), histCat: Int32Array.from(cats), user }, { items: Int32Array.from(cand, (c) => c.item), cats: Int32Array.from(cand, (c) => c.cat) }));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "dien-serve-"));
  weights = path.join(dir, "model.safetensors");
  model = await DienModel.create(CONFIG, { seed: 1, vocab: VOCAB });
  await model.save(weights);
});
afterAll(() => model.dispose());

describe("dien serve", () => {
  it("scores integer and string ids in candidate order, health, readiness and metrics", async () => {
    const s = await serve(["--weights", weights]);
    try {
      const r = await post(s.url, request);
      expect(r.status).toBe(200);
      expect(r.json.scores).toEqual(await expected(model, [3, 4, 5], [1, 2, 3], 2, request.candidates));
      expect(r.json.model).toMatch(/^[0-9a-f]{12}$/);
      // The same request with the original string ids; unknown strings map to row 0.
      const named = { user: "user2", history: { items: ["item3", "item4", "item5"], cats: ["cat1", "cat2", "cat3"] }, candidates: [{ item: "item7", cat: "cat1" }, { item: "item9", cat: "cat2" }, { item: "no-such-item", cat: "no-such-cat" }] };
      expect((await post(s.url, named)).json.scores).toEqual(r.json.scores);
      // A history longer than maxLen: the most recent maxLen behaviours are used.
      const long = Array.from({ length: 30 }, (_, i) => (i % 49) + 1);
      const longCats = long.map((i) => i % 8);
      const lr = await post(s.url, { user: 1, history: { items: long, cats: longCats }, candidates: request.candidates });
      expect(lr.json.scores).toEqual(await expected(model, long.slice(10), longCats.slice(10), 1, request.candidates));

      expect(await (await fetch(`${s.url}/healthz`)).json()).toEqual({ status: "ok" });
      const ready = (await (await fetch(`${s.url}/readyz`)).json()) as Record<string, unknown>;
      expect(ready).toMatchObject({ status: "ready", model: r.json.model, backend: "cpu" });
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toContain('dien_http_requests_total{route="/v1/score",status="200"} 3');
      expect(metrics).toMatch(/dien_batch_requests_count \d+/);
      expect(metrics).toContain("dien_queue_depth 0");
      expect(metrics).toContain('dien_http_requests_in_flight{route="/v1/score"} 0');
      expect(metrics).toContain('dien_http_requests_in_flight{route="/metrics"} 1'); // this one
      expect(metrics).toContain(`dien_model_info{version="${String(r.json.model)}",model="dien",backend="cpu"} 1`);
      expect(metrics).toMatch(/dien_http_request_duration_seconds_bucket\{le="0.05",route="\/v1\/score"\} \d+/);
      expect(metrics).toContain("process_cpu_user_seconds_total");
    } finally {
      s.child.kill("SIGTERM");
      expect(await s.exit).toBe(0);
    }
  });

  it("rejects malformed requests with 400 naming the field, oversized bodies with 413", async () => {
    const s = await serve(["--weights", weights, "--max-candidates", "4", "--max-history", "25", "--max-body-bytes", "2048"]);
    try {
      const bad = async (body: unknown, message: string | RegExp) => {
        const r = await post(s.url, body);
        expect(r.status, JSON.stringify(r.json)).toBe(400);
        expect(r.json.message).toMatch(message);
      };
      await bad("{ not json", /not valid JSON/);
      await bad({ user: 2, history: request.history }, "body.candidates: is required");
      await bad({ ...request, history: { items: [3, "", 5], cats: [1, 2, 3] } }, "body.history.items[1]: expected an id (an integer >= 0 or a non-empty string)");
      await bad({ ...request, history: { items: [3, -4, 5], cats: [1, 2, 3] } }, "body.history.items[1]: expected an id");
      await bad({ ...request, history: { items: [3, 4.5], cats: [1, 2] } }, "body.history.items[1]: expected an id");
      await bad({ ...request, candidates: [{ item: 7, cat: 1, price: 3 }] }, "body.candidates[0].price: is not a known field");
      await bad({ ...request, candidates: [{ item: 70, cat: 1 }] }, "body.candidates[0].item: id 70 is outside [0, 50)");
      await bad({ ...request, candidates: [{ item: 7, cat: 8 }] }, "body.candidates[0].cat: id 8 is outside [0, 8)");
      await bad({ ...request, candidates: Array(5).fill({ item: 1, cat: 1 }) }, "body.candidates: at most 4 entries are accepted");
      await bad({ ...request, candidates: [] }, "body.candidates: at least 1 entry is required");
      await bad({ ...request, history: { items: Array(26).fill(1), cats: Array(26).fill(1) } }, "body.history.items: at most 25 entries are accepted");
      await bad({ ...request, history: { items: [1, 2], cats: [1] } }, "body.history.cats: expected 2 entries (one per history item) but got 1");
      await bad({ history: request.history, candidates: request.candidates }, "body.user: the model has a user field, so a user id is required");
      await bad({ ...request, user: 6 }, "body.user: id 6 is outside [0, 6)");
      await bad([request], "body: must be object");
      let deep: unknown = 1;
      for (let i = 0; i < 500; i++) deep = [deep];
      await bad({ ...request, history: deep }, "body.history: must be object");
      const big = await post(s.url, { ...request, pad: "x".repeat(4096) });
      expect(big.status).toBe(413);
      const text = await fetch(`${s.url}/v1/score`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<a/>" });
      expect(text.status).toBe(415);
      // Still healthy after all that.
      expect((await post(s.url, request)).status).toBe(200);
    } finally {
      s.child.kill("SIGTERM");
      await s.exit;
    }
  });

  it("a full queue answers 503 with Retry-After; every other request is scored", async () => {
    const s = await serve(["--weights", weights, "--max-queue", "1", "--max-batch", "1", "--max-candidates", "1000"]);
    try {
      const heavy = { ...request, candidates: Array.from({ length: 1000 }, (_, i) => ({ item: i % 50, cat: i % 8 })) };
      const results = await Promise.all(Array.from({ length: 40 }, () => post(s.url, heavy)));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((x) => x === 200).length).toBeGreaterThan(1);
      expect(statuses.every((x) => x === 200 || x === 503)).toBe(true);
      const refused = results.find((r) => r.status === 503)!;
      expect(refused.headers.get("retry-after")).toBe("1");
      expect(refused.json.message).toMatch(/queue is full/);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/dien_http_requests_total\{route="\/v1\/score",status="503"\} [1-9]/);
    } finally {
      s.child.kill("SIGTERM");
      await s.exit;
    }
  });

  it("SIGTERM drains: every request in flight is answered, then the process exits 0", async () => {
    // A model and requests heavy enough (about 1 GFLOP each) that the queue outlasts the
    // arrival of every request on any machine: with the small model, a fast CPU answered
    // each request as it arrived and the queue never grew.
    const file = path.join(dir, "heavy.safetensors");
    {
      using heavyModel = await DienModel.create({ ...CONFIG, dItem: 16, dCat: 8, dUser: 8, hidden: 64, maxLen: 100 }, { seed: 1, vocab: VOCAB });
      await heavyModel.save(file);
    }
    const s = await serve(["--weights", file, "--max-batch", "1", "--max-candidates", "2000"]);
    const history = { items: Array.from({ length: 100 }, (_, i) => 1 + (i % 49)), cats: Array.from({ length: 100 }, (_, i) => 1 + (i % 7)) };
    const heavy = { ...request, history, candidates: Array.from({ length: 2000 }, (_, i) => ({ item: i % 50, cat: i % 8 })) };
    const inFlight = Array.from({ length: 30 }, () => post(s.url, heavy));
    // SIGTERM once the server has every request (a connection still in the listen backlog
    // is not in flight: closing the listener resets it), while most still wait.
    const pending = await until("every request to arrive", async () => {
      const m = await (await fetch(`${s.url}/metrics`)).text();
      const inFlight = Number(/dien_http_requests_in_flight\{route="\/v1\/score"\} (\d+)/.exec(m)?.[1] ?? 0);
      const answered = Number(/dien_http_requests_total\{route="\/v1\/score",status="200"\} (\d+)/.exec(m)?.[1] ?? 0);
      return inFlight + answered === 30 ? inFlight : undefined;
    });
    expect(pending).toBeGreaterThanOrEqual(10);
    s.child.kill("SIGTERM");
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
    expect(await s.exit).toBe(0);
    expect(s.stderr()).toContain("SIGTERM: draining requests in flight");
  });

  it("SIGHUP and /admin/reload load a new file; a corrupt one is rejected and the old model keeps serving", async () => {
    const file = path.join(dir, "reload.safetensors");
    writeFileSync(file, readFileSync(weights));
    const token = "0123456789abcdef-token";
    const s = await serve(["--weights", file], { DIEN_ADMIN_TOKEN: token });
    const version = async () => ((await (await fetch(`${s.url}/readyz`)).json()) as { model: string }).model;
    const rejected = async () => Number(/dien_model_reloads_total\{result="rejected"\} (\d+)/.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1] ?? 0);
    try {
      const v1 = await version();
      const before = (await post(s.url, request)).json.scores;
      // A new model written atomically, then SIGHUP.
      using next = await DienModel.create(CONFIG, { seed: 2, vocab: VOCAB });
      await next.save(file);
      s.child.kill("SIGHUP");
      const v2 = await until("the reload", async () => ((await version()) !== v1 ? await version() : undefined));
      const after = (await post(s.url, request)).json;
      expect(after.model).toBe(v2);
      expect(after.scores).toEqual(await expected(next, [3, 4, 5], [1, 2, 3], 2, request.candidates));
      expect(after.scores).not.toEqual(before);
      // A half-written file: rejected whole, the current model keeps serving. (Files are
      // replaced by renaming over them: the served model maps its file, model.md §12.)
      const bytes = readFileSync(file);
      replace(file, bytes.subarray(0, bytes.length - 100));
      s.child.kill("SIGHUP");
      await until("the rejection", async () => ((await rejected()) >= 1 ? true : undefined));
      expect(await version()).toBe(v2);
      expect((await post(s.url, request)).json.scores).toEqual(after.scores);
      expect(s.stderr()).toMatch(/reload rejected, the previous model keeps serving: .*reload\.safetensors/);
      // The same over HTTP, behind the admin token.
      const reload = (auth?: string) => fetch(`${s.url}/admin/reload`, { method: "POST", headers: auth ? { authorization: auth } : {} });
      expect((await reload()).status).toBe(401);
      expect((await reload("Bearer wrong-token-0123456")).status).toBe(401);
      const failed = await reload(`Bearer ${token}`);
      expect(failed.status).toBe(422);
      expect(((await failed.json()) as { message: string }).message).toMatch(/the previous model keeps serving/);
      expect(await rejected()).toBe(2);
      replace(file, readFileSync(weights));
      const ok = await reload(`Bearer ${token}`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ status: "reloaded", model: v1 });
      expect((await post(s.url, request)).json.scores).toEqual(before);
    } finally {
      s.child.kill("SIGTERM");
      await s.exit;
    }
  });

  it("a request that never completes cannot hold up a drain past its deadline; a second signal stops at once", async () => {
    const s = await serve(["--weights", weights, "--drain-timeout-ms", "500"]);
    const { port } = new URL(s.url);
    const slow = net.connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => slow.on("connect", resolve));
    slow.write("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    slow.on("error", () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t0 = Date.now();
    s.child.kill("SIGTERM");
    expect(await s.exit).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(s.stderr()).toContain("stopped after closing connections still open at the drain deadline");
    slow.destroy();

    const again = await serve(["--weights", weights]);
    const stuck = net.connect(Number(new URL(again.url).port), "127.0.0.1");
    await new Promise((resolve) => stuck.on("connect", resolve));
    stuck.write("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    stuck.on("error", () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    again.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 200));
    again.child.kill("SIGTERM");
    expect(await again.exit).toBe(1);
    expect(again.stderr()).toContain("SIGTERM again: stopping now");
    stuck.destroy();
  });

  it("binds to 127.0.0.1 unless told otherwise; a client that disconnects costs nothing", async () => {
    const s = await serve(["--weights", weights, "--max-batch", "1", "--max-candidates", "5000"]);
    try {
      expect(new URL(s.url).hostname).toBe("127.0.0.1");
      const heavy = JSON.stringify({ ...request, candidates: Array.from({ length: 5000 }, (_, i) => ({ item: i % 50, cat: i % 8 })) });
      const busy = Array.from({ length: 10 }, () => post(s.url, heavy));
      const { port } = new URL(s.url);
      for (let i = 0; i < 5; i++) {
        const socket = net.connect(Number(port), "127.0.0.1");
        await new Promise((resolve) => socket.on("connect", resolve));
        socket.write(`POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(heavy)}\r\n\r\n${heavy}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.destroy();
      }
      expect((await Promise.all(busy)).map((r) => r.status)).toEqual(Array(10).fill(200));
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(Number(/dien_client_disconnects_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
      expect(metrics).toContain('dien_http_requests_in_flight{route="/v1/score"} 0'); // the dropped ones too
      expect((await post(s.url, request)).status).toBe(200);
    } finally {
      s.child.kill("SIGTERM");
      await s.exit;
    }
  });
});

describe("dienPlugin in an existing fastify app", () => {
  it("registers in one line under a prefix and serves a model the app owns", async () => {
    const app = Fastify();
    app.get("/other", async () => ({ ok: true }));
    await app.register(dienPlugin, { model, prefix: "/dien", processMetrics: false });
    const r = await app.inject({ method: "POST", url: "/dien/v1/score", payload: request });
    expect(r.statusCode).toBe(200);
    expect(r.json().scores).toEqual(await expected(model, [3, 4, 5], [1, 2, 3], 2, request.candidates));
    expect(r.json().model).toBe("memory");
    // The plugin's validator and error handler stay inside its scope.
    expect((await app.inject({ method: "GET", url: "/other" })).json()).toEqual({ ok: true });
    const bad = await app.inject({ method: "POST", url: "/dien/v1/score", payload: { history: request.history } });
    expect(bad.statusCode).toBe(400);
    await app.close();
    // A model without a user field refuses a user id rather than ignoring it.
    using din = await DienModel.create({ model: "din", itemVocab: 50, catVocab: 8, dItem: 8, dCat: 4, maxLen: 20 }, { seed: 1 });
    const other = Fastify();
    await other.register(dienPlugin, { model: din, processMetrics: false });
    const withUser = await other.inject({ method: "POST", url: "/v1/score", payload: request });
    expect(withUser.statusCode).toBe(400);
    expect(withUser.json().message).toBe("body.user: this model has no user field; leave user out");
    const { user: _user, ...noUser } = request;
    expect((await other.inject({ method: "POST", url: "/v1/score", payload: noUser })).statusCode).toBe(200);
    await other.close();
    expect(model.disposed).toBe(false); // the app's model: not the plugin's to dispose
    const [one] = randomRequests(model.config, 1, 3, { maxCandidates: 2 });
    expect(await model.scoreCandidates(one!.history, one!.candidates)).toHaveLength(one!.candidates.items.length);
    await expect(dienPlugin(Fastify(), {})).rejects.toThrow(/exactly one of weights/);
  });
});
