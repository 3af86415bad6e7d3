/**
 * The environment variables the engine honours, read once per model (when it is loaded
 * or created) on the JS thread and passed down: native code never reads the
 * environment. They win over the options in code, so that operators can steer a
 * deployed service without touching it.
 *   DIEN_DEVICE   "auto" | "cpu" | "cuda"
 *   DIEN_THREADS  worker threads per model, 0 = one per hardware thread
 */
import { dienError } from "./errors";

export interface EnvironmentSettings {
  device?: string;
  threads?: number;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): EnvironmentSettings {
  const out: EnvironmentSettings = {};
  const device = env.DIEN_DEVICE;
  if (device) out.device = device; // checked by the engine, which names the variable
  const threads = env.DIEN_THREADS;
  if (threads) {
    const n = Number(threads);
    if (!/^\d+$/.test(threads.trim()) || n > 1024)
      throw dienError("DIEN_BAD_CONFIG", `DIEN_THREADS: expected an integer in [0, 1024] but got ${JSON.stringify(threads)}`);
    out.threads = n;
  }
  return out;
}
