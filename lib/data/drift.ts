/**
 * An embedded dataset for `npm start` and tests: users whose interest jumps between
 * categories over time. Each behaviour is an item of the user's current interest
 * (sometimes a random one). A sample's positive target is an item of the interest at the
 * end of its history; most negatives are an item of the interest the user held most often
 * earlier, so both categories appear in the history and only its order separates them (a
 * model of interest evolution should beat sum pooling here). Seeded; string ids like a
 * real log. Users drawn with different seeds are different people and carry the seed in
 * their names, so a test set drawn with another seed holds only new users (the unknown
 * user id, as MovieLens test users are), never a namesake with someone else's embedding.
 */
import { rng } from "../synthetic";
import type { Sample } from "./formats";

export interface DriftOptions {
  users?: number;
  categories?: number;
  itemsPerCategory?: number;
  minLen?: number;
  maxLen?: number;
  /** Chance per behaviour that the interest jumps to a random category. */
  drift?: number;
  /** Chance per behaviour of a random item instead of one of the current interest. */
  noise?: number;
  /** Share of negatives drawn from the user's earlier interests (the rest: any other category). */
  hard?: number;
  seed?: number;
}

export function driftingInterests(o: DriftOptions = {}): Sample[] {
  const users = o.users ?? 2000;
  const cats = o.categories ?? 24;
  const perCat = o.itemsPerCategory ?? 40;
  const minLen = o.minLen ?? 10;
  const maxLen = o.maxLen ?? 40;
  const drift = o.drift ?? 0.25;
  const noise = o.noise ?? 0.1;
  const hard = o.hard ?? 0.7;
  const seed = o.seed ?? 1;
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const item = (c: number) => `item${c * perCat + int(perCat)}`;
  const out: Sample[] = [];
  for (let u = 0; u < users; u++) {
    let interest = int(cats);
    const L = minLen + int(maxLen - minLen + 1);
    const histItems: string[] = [];
    const histCats: string[] = [];
    const held: number[] = [];
    for (let t = 0; t < L; t++) {
      if (r() < drift) interest = int(cats);
      held.push(interest);
      const c = r() < noise ? int(cats) : interest;
      histItems.push(item(c));
      histCats.push(`cat${c}`);
    }
    // The target follows the latest interest.
    // Half the negatives from an interest held earlier (the history's order tells them
    // apart), half from any other category (its presence does).
    const earlier = held.filter((c) => c !== interest);
    let other: number;
    if (earlier.length > 0 && r() < hard) {
      other = mostFrequent(earlier); // the category pooling sees most, yet not the current one
    } else {
      other = int(cats - 1);
      if (other >= interest) other++;
    }
    const user = `s${seed}-user${u}`;
    out.push({ label: 1, user, item: item(interest), cat: `cat${interest}`, histItems, histCats });
    out.push({ label: 0, user, item: item(other), cat: `cat${other}`, histItems: [...histItems], histCats: [...histCats] });
  }
  return out;
}

function mostFrequent(xs: number[]): number {
  const counts = new Map<number, number>();
  let best = xs[0]!;
  for (const x of xs) {
    const n = (counts.get(x) ?? 0) + 1;
    counts.set(x, n);
    if (n > counts.get(best)!) best = x;
  }
  return best;
}
