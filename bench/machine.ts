/**
 * The CPU a figure came from, named well enough to compare figures across hosts. Under a
 * hypervisor the model name is often just "AMD EPYC", which hides the generation; and the
 * generation decides what a fraction of peak means: Zen 4 runs a 512-bit FMA as two
 * 256-bit halves (its AVX-512 peak equals its AVX2 peak), Zen 5 and Intel's server cores
 * at full width (twice it). So every report names family and model, and the generation
 * where the family says it.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

/** /proc/cpuinfo's first processor block as key -> value ({} where there is none). */
function cpuinfo(): Record<string, string> {
  try {
    const first = readFileSync("/proc/cpuinfo", "utf8").split("\n\n")[0] ?? "";
    return Object.fromEntries(first.split("\n").map((line) => line.split(/\s*:\s*/, 2) as [string, string]).filter((kv) => kv.length === 2));
  } catch {
    return {};
  }
}

/** AMD's generation from family and model (the ranges AMD documents per family); "" when unknown. */
export function amdGeneration(family: number, model: number): string {
  if (family === 0x17) return model >= 0x30 ? "Zen 2" : "Zen / Zen+";
  if (family === 0x19) {
    const zen4 = (model >= 0x10 && model <= 0x1f) || (model >= 0x60 && model <= 0x7f) || (model >= 0xa0 && model <= 0xaf);
    return zen4 ? "Zen 4" : "Zen 3";
  }
  if (family === 0x1a) return "Zen 5";
  return "";
}

export interface MachineInfo {
  /** The model name as the OS reports it. */
  cpu: string;
  cores: number;
  family?: number;
  model?: number;
  /** "Zen 4" etc. where the family says it. */
  generation?: string;
  /** The widest vector ISA the CPU reports: "AVX-512", "AVX2", "NEON" or "". */
  vectors: string;
}

export function machineInfo(): MachineInfo {
  const info = cpuinfo();
  const flags = ` ${info.flags ?? info.Features ?? ""} `;
  const vectors = flags.includes(" avx512f ") ? "AVX-512" : flags.includes(" avx2 ") ? "AVX2" : flags.includes(" asimd ") ? "NEON" : "";
  const out: MachineInfo = { cpu: cpus()[0]?.model ?? "unknown CPU", cores: cpus().length, vectors };
  const family = Number(info["cpu family"]);
  const model = Number(info.model);
  if (Number.isInteger(family) && Number.isInteger(model) && info["cpu family"] !== undefined) {
    out.family = family;
    out.model = model;
    const generation = info.vendor_id === "AuthenticAMD" ? amdGeneration(family, model) : "";
    if (generation) out.generation = generation;
  }
  return out;
}

/** One line: `AMD EPYC (family 25 model 17, Zen 4, AVX-512), 2 cores`. */
export function describeMachine(m: MachineInfo = machineInfo()): string {
  const parts = [m.family === undefined ? "" : `family ${m.family} model ${m.model}`, m.generation ?? "", m.vectors].filter(Boolean);
  return `${m.cpu}${parts.length ? ` (${parts.join(", ")})` : ""}, ${m.cores} cores`;
}
