/** What the experiment reports (compression.ts, rocket-ablation.ts, rocket-curves.ts) share: the embedded data's split, seed statistics and the dated header. */
import { driftingInterests } from "../lib/data/drift";
import type { Sample } from "../lib/data/formats";
import { type MachineInfo, describeMachine, machineInfo } from "./machine";

/** The compression experiments' split of the embedded data for a seed: 20000 training users and 3000 new test users. */
export function driftSplit(seed: number): { train: Sample[]; test: Sample[] } {
  return { train: driftingInterests({ users: 20000, seed: 2 * seed - 1 }), test: driftingInterests({ users: 3000, seed: 2 * seed }) };
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (0 for one value). */
export function std(xs: number[]): number {
  const m = mean(xs);
  return xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1)) : 0;
}

/** Four decimals with a sign; a difference that rounds to zero prints as 0.0000, never -0.0000. */
export const signed = (x: number) => {
  const text = x.toFixed(4);
  return Number(text) === 0 ? "0.0000" : (x > 0 ? "+" : "") + text;
};

/** When and where a report's figures were made; older reports name only `cpu` and `cores`. */
export interface Provenance {
  date: string;
  machine?: MachineInfo;
  cpu?: string;
  cores?: number;
}

/** A report's title, date, machine and the command that made it, as Markdown lines (by default: now, here). */
export function reportHeader(title: string, command: string, made: Provenance = { date: new Date().toISOString(), machine: machineInfo() }): string[] {
  const where = made.machine ? describeMachine(made.machine) : `${made.cpu ?? "unknown CPU"}, ${made.cores ?? "?"} cores`;
  return [`# ${title}`, "", `${made.date.slice(0, 10)}, ${where}. Command (after \`npm run build\`):`, "", "```", command, "```", ""];
}
