/**
 * The environment variables the engine honours, read once per model (when it is loaded
 * or created) on the JS thread and passed down: native code never reads the
 * environment. They win over the options in code, so that operators can steer a
 * deployed service without touching it.
 *   DIEN_DEVICE   "auto" | "cpu" | "cuda"
 *   DIEN_THREADS  worker threads per model, 0 = one per hardware thread
 * and, read once per process when the addon is loaded (lib/native.ts):
 *   DIEN_ISA      "auto" | an ISA level: the engine to load
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

/** The ISA levels a build can make (CMakeLists.txt), and what DIEN_ISA accepts besides "auto". */
export const ISA_LEVELS = ["native", "custom", "avx512", "avx2", "baseline"] as const;
export type IsaLevel = (typeof ISA_LEVELS)[number];

/** DIEN_ISA: undefined ("auto" or unset) for the best level this CPU runs, or one level's name. */
export function readIsaLevel(env: NodeJS.ProcessEnv = process.env): IsaLevel | undefined {
  const raw = env.DIEN_ISA;
  if (raw === undefined || raw === "" || raw === "auto") return undefined;
  if (!(ISA_LEVELS as readonly string[]).includes(raw))
    throw dienError("DIEN_BAD_CONFIG", `DIEN_ISA: expected "auto" or one of ${ISA_LEVELS.join(", ")} but got ${JSON.stringify(raw)}`);
  return raw as IsaLevel;
}
