/**
 * `dien serve`: the scoring service (lib/serving/http.ts) on its own fastify server.
 * SIGTERM / SIGINT drain: the server stops accepting, requests in flight finish, the
 * scorer empties, then the process exits 0. SIGHUP reloads the weight file; a file that
 * does not load is rejected and the old model keeps serving.
 */
import Fastify, { type FastifyInstance } from "fastify";

import type { Device } from "../model";
import { type DienPluginOptions, type DienServing, dienPlugin, errorBody } from "../serving/http";

export interface ServeOptions {
  weights: string;
  port: number;
  host: string;
  threads: number;
  device: Device;
  maxBatch: number;
  maxBatchCandidates: number;
  maxDelayMs: number;
  maxQueue: number;
  maxCandidates: number;
  maxHistory: number;
  maxBodyBytes: number;
  /** Enables POST /admin/reload (from DIEN_ADMIN_TOKEN in the CLI: not visible in `ps`). */
  adminToken?: string;
  log: boolean;
  /** How long SIGTERM waits for requests in flight before closing their connections (ms). */
  drainTimeoutMs: number;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  serving: DienServing;
  /**
   * Drains and stops: no new connections, requests in flight answered (each with
   * Connection: close), the scorer emptied. Connections still open after timeoutMs are
   * closed; resolves false then.
   */
  stop(timeoutMs: number): Promise<boolean>;
}

export async function startServer(o: ServeOptions, onReload?: DienPluginOptions["onReload"]): Promise<RunningServer> {
  // A body past the route's limit is refused (413) before it is read whole.
  // Plain JSON.parse: the body schema refuses every unknown key at every level, so the
  // prototype-poisoning scan of the default parser would only cost time.
  // A client gets 30 s to send a whole request and a connection 60 s of silence: a slow
  // or stalled client can neither pin a connection for ever nor hold up a drain.
  const app = Fastify({
    logger: o.log,
    bodyLimit: o.maxBodyBytes,
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    return503OnClosing: false, // answered below, with Retry-After
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
  });
  let serving: DienServing | undefined;
  await app.register(async (scope) => {
    await dienPlugin(scope, {
      weights: o.weights,
      engine: { threads: o.threads, device: o.device },
      scorer: { maxBatch: o.maxBatch, maxBatchCandidates: o.maxBatchCandidates, maxDelayMs: o.maxDelayMs, maxQueue: o.maxQueue },
      limits: { maxCandidates: o.maxCandidates, maxHistory: o.maxHistory, maxBodyBytes: o.maxBodyBytes },
      ...(o.adminToken === undefined ? {} : { adminToken: o.adminToken }),
      ...(onReload ? { onReload } : {}),
    });
    serving = (scope as unknown as { dien: DienServing }).dien;
  });
  // While draining, every answer closes its connection: the server's close() waits for
  // open connections, and a keep-alive one would otherwise hold it for its timeout.
  // A request that arrives while draining is refused with 503 and Retry-After (another
  // instance, or this one restarted, will take it).
  let draining = false;
  app.addHook("onRequest", async (_req, reply) => {
    if (draining) return reply.code(503).header("retry-after", "1").send(errorBody(503, "the server is shutting down"));
  });
  app.addHook("onSend", async (_req, reply, payload) => {
    if (draining) void reply.header("connection", "close");
    return payload;
  });
  const url = await app.listen({ port: o.port, host: o.host });
  const stop = async (timeoutMs: number) => {
    draining = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        app.server.closeAllConnections();
        resolve(false);
      }, timeoutMs);
    });
    const drained = await Promise.race([app.close().then(() => true), deadline]);
    clearTimeout(timer);
    if (!drained) await app.close();
    return drained;
  };
  return { app, url, serving: serving!, stop };
}

/** The CLI's lifecycle around startServer: signals, messages on stderr, the exit code. */
export async function serveCommand(o: ServeOptions): Promise<void> {
  const say = (line: string) => process.stderr.write(`dien serve: ${line}\n`);
  const onReload: DienPluginOptions["onReload"] = (r) =>
    say(r.error ? `reload rejected, the previous model keeps serving: ${r.error.message}` : `reloaded ${o.weights} (version ${r.version})`);
  const server = await startServer(o, onReload);
  const s = server.serving.service.current!;
  const info = s.model.info();
  // stdout carries one line for scripts and tests: where to connect.
  console.log(`dien serve: listening on ${server.url} (${s.model.config.model}, version ${s.version}, ${info.backend}, ${info.threads} threads)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      say(`${signal} again: stopping now, without waiting for requests in flight`);
      process.exit(1);
    }
    stopping = true;
    say(`${signal}: draining requests in flight (at most ${o.drainTimeoutMs} ms; send it again to stop now)`);
    server.stop(o.drainTimeoutMs).then(
      (drained) => {
        say(drained ? "stopped" : "stopped after closing connections still open at the drain deadline");
        process.exitCode = drained ? 0 : 1;
      },
      (err: unknown) => {
        say(`error while stopping: ${String(err)}`);
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => {
    say(`SIGHUP: reloading ${o.weights}`);
    server.serving.reload().catch(() => undefined); // onReload reports the outcome
  });
}
