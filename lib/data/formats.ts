/**
 * Readers of the data formats of docs/model.md §13, streaming line by line: the original
 * DIEN format (`label \t uid \t mid \t cat \t mid_hist \t cat_hist`, history joined with
 * \x02, CRLF tolerated) and the DIN / PaddleRec format (`hist_items;hist_cats;item;cat;label`,
 * space-separated histories). A malformed line is a BadDataError naming the file, the line
 * number and the field; with skipBadLines it is counted in the report instead.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

import { BadDataError } from "../errors";

/** One sample with the file's own (string) ids; histories oldest first. */
export interface Sample {
  label: number;
  /** "" when the format has no user. */
  user: string;
  item: string;
  cat: string;
  histItems: string[];
  histCats: string[];
}

export type DataFormat = "dien" | "din";

export interface ReadOptions {
  /** Count malformed lines (and keep the first messages) instead of failing. */
  skipBadLines?: boolean;
}

export interface ReadReport {
  lines: number;
  samples: number;
  skipped: number;
  /** The first 10 skipped lines' messages. */
  firstSkipped: string[];
}

export function newReport(): ReadReport {
  return { lines: 0, samples: 0, skipped: 0, firstSkipped: [] };
}

class LineError extends Error {}

function label(text: string): number {
  if (text === "0" || text === "1") return Number(text);
  throw new LineError(`field "label": expected 0 or 1 but got ${JSON.stringify(text)}`);
}

function nonEmpty(field: string, text: string): string {
  if (text.length === 0) throw new LineError(`field "${field}": empty`);
  return text;
}

function history(items: string, cats: string, sep: string, names: [string, string]): [string[], string[]] {
  const hi = items.length ? items.split(sep) : [];
  const hc = cats.length ? cats.split(sep) : [];
  if (hi.length !== hc.length)
    throw new LineError(`field "${names[1]}": ${hc.length} categories for ${hi.length} history items in "${names[0]}"`);
  for (let k = 0; k < hi.length; k++) {
    if (hi[k] === "") throw new LineError(`field "${names[0]}": item ${k} of the history is empty`);
    if (hc[k] === "") throw new LineError(`field "${names[1]}": category ${k} of the history is empty`);
  }
  return [hi, hc];
}

/** Parses one line (no line terminator); throws LineError naming the field. */
export function parseLine(format: DataFormat, line: string): Sample {
  if (format === "dien") {
    const f = line.split("\t");
    if (f.length !== 6) throw new LineError(`expected 6 tab-separated fields (label, uid, mid, cat, mid_hist, cat_hist) but got ${f.length}`);
    const [hi, hc] = history(f[4]!, f[5]!, "\x02", ["mid_hist", "cat_hist"]);
    return { label: label(f[0]!), user: nonEmpty("uid", f[1]!), item: nonEmpty("mid", f[2]!), cat: nonEmpty("cat", f[3]!), histItems: hi, histCats: hc };
  }
  const f = line.split(";");
  if (f.length !== 5) throw new LineError(`expected 5 ';'-separated fields (hist_items, hist_cats, item, cat, label) but got ${f.length}`);
  const [hi, hc] = history(f[0]!.trim(), f[1]!.trim(), " ", ["hist_items", "hist_cats"]);
  return { label: label(f[4]!.trim()), user: "", item: nonEmpty("item", f[2]!.trim()), cat: nonEmpty("cat", f[3]!.trim()), histItems: hi, histCats: hc };
}

/** The samples of one file, in file order. Blank lines are skipped silently. */
export async function* readSamples(path: string, format: DataFormat, opts: ReadOptions = {}, report: ReadReport = newReport()): AsyncGenerator<Sample> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    report.lines = n;
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0) continue;
    let s: Sample;
    try {
      s = parseLine(format, line);
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      const msg = `${path}:${n}: ${err.message}`;
      if (!opts.skipBadLines) throw new BadDataError("DIEN_BAD_DATA", `${msg} (--skip-bad-lines skips such lines and reports them)`);
      report.skipped++;
      if (report.firstSkipped.length < 10) report.firstSkipped.push(msg);
      continue;
    }
    report.samples++;
    yield s;
  }
}
