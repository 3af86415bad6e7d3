/**
 * MovieLens (ratings.csv + movies.csv, the ml-latest-small layout) as DIEN samples, the
 * paper's way (docs/model.md §13): every rating is a behaviour, its category the movie's
 * first genre; per user, behaviours sorted by (timestamp, movie id); each behaviour after a
 * user's first gives a positive (that behaviour) and a negative (a movie drawn uniformly
 * from all rated movies, redrawn when it equals the positive), both with the user's
 * earlier behaviours as history. Users are split 90/10 into train and test by a seeded
 * draw; "all" keeps every sample, "last" only each user's last pair.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

import { BadDataError } from "../errors";
import { rng } from "../synthetic";
import type { Sample } from "./formats";

export type MovieLensSplit = "all" | "last";

export interface MovieLensOptions {
  split?: MovieLensSplit;
  seed?: number;
  /** Fraction of users in the training set (default 0.9). */
  trainFraction?: number;
}

function csvLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new BadDataError("DIEN_BAD_DATA", `${file}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return text.split(/\r?\n/);
}

/** movies.csv: movieId -> first genre; titles may be quoted and hold commas. */
function firstGenres(file: string): Map<string, string> {
  const genres = new Map<string, string>();
  const lines = csvLines(file);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const first = line.indexOf(",");
    const last = line.lastIndexOf(",");
    if (first <= 0 || last <= first) throw new BadDataError("DIEN_BAD_DATA", `${file}:${i + 1}: expected movieId,title,genres`);
    genres.set(line.slice(0, first), line.slice(last + 1).split("|")[0]!);
  }
  return genres;
}

export function loadMovieLens(dir: string, opts: MovieLensOptions = {}): { train: Sample[]; test: Sample[] } {
  const split = opts.split ?? "all";
  const trainFraction = opts.trainFraction ?? 0.9;
  const genres = firstGenres(path.join(dir, "movies.csv"));
  const ratingsFile = path.join(dir, "ratings.csv");
  const lines = csvLines(ratingsFile);
  const byUser = new Map<number, { item: number; time: number }[]>();
  const rated = new Set<number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const f = line.split(",");
    const user = Number(f[0]);
    const item = Number(f[1]);
    const time = Number(f[3]);
    if (f.length !== 4 || !Number.isInteger(user) || !Number.isInteger(item) || !Number.isFinite(time))
      throw new BadDataError("DIEN_BAD_DATA", `${ratingsFile}:${i + 1}: expected userId,movieId,rating,timestamp but got ${JSON.stringify(line)}`);
    let list = byUser.get(user);
    if (!list) byUser.set(user, (list = []));
    list.push({ item, time });
    rated.add(item);
  }
  const items = [...rated].sort((a, b) => a - b);
  const catOf = (item: number) => genres.get(String(item)) ?? "(unknown)";
  // Separate streams: the user split does not depend on how many negatives were drawn.
  const seed = opts.seed ?? 1;
  const split01 = rng(seed);
  const r = rng((seed ^ 0x9e3779b9) >>> 0);
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (const user of [...byUser.keys()].sort((a, b) => a - b)) {
    const target = split01() < trainFraction ? train : test;
    const events = byUser.get(user)!.sort((a, b) => a.time - b.time || a.item - b.item);
    const histItems = events.map((e) => String(e.item));
    const histCats = events.map((e) => catOf(e.item));
    const from = split === "last" ? Math.max(1, events.length - 1) : 1;
    for (let t = from; t < events.length; t++) {
      const pos = events[t]!.item;
      let neg = pos;
      while (neg === pos && items.length > 1) neg = items[Math.floor(r() * items.length)]!;
      const hi = histItems.slice(0, t);
      const hc = histCats.slice(0, t);
      const u = String(user);
      target.push({ label: 1, user: u, item: String(pos), cat: catOf(pos), histItems: hi, histCats: hc });
      target.push({ label: 0, user: u, item: String(neg), cat: catOf(neg), histItems: hi, histCats: hc });
    }
  }
  return { train, test };
}
