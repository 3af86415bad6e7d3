/**
 * Score requests (docs/model.md §15): one user's history and K candidates each. The
 * checks here give scoreCandidates, scoreRequests and the micro-batching scorer the same
 * messages; packRequests lays many requests end to end for one native call.
 */
import { type ModelConfig, hasUserField } from "./config";
import type { NativeRequests } from "./native";
import type { Candidates, ScoreRequest, UserHistory } from "./types";
import { checkIds, expectInt32Array, expectInteger, expectLength, expectObject } from "./validate";

/** A request that passed every check: the history cut to its length, user -1 when the model has none. */
export interface CheckedRequest {
  histItem: Int32Array;
  histCat: Int32Array;
  user: number;
  items: Int32Array;
  cats: Int32Array;
}

/** Checks a history; field names the argument in messages ("user", "requests[3].history"). */
export function checkHistory(c: ModelConfig, history: UserHistory, field: string): Pick<CheckedRequest, "histItem" | "histCat" | "user"> {
  const u = expectObject(field, history);
  const histItem = expectInt32Array(`${field}.histItem`, u.histItem);
  const histCat = expectInt32Array(`${field}.histCat`, u.histCat);
  let histLen = histItem.length;
  if (u.histLen !== undefined) histLen = expectInteger(`${field}.histLen`, u.histLen, 0);
  if (histLen > c.maxLen)
    throw new RangeError(`${field}.histLen: ${histLen} behaviours exceed the model's maxLen ${c.maxLen}; keep the most recent ${c.maxLen}`);
  if (histItem.length < histLen) throw new RangeError(`${field}.histItem: expected at least ${histLen} elements but got ${histItem.length}`);
  if (histCat.length < histLen) throw new RangeError(`${field}.histCat: expected at least ${histLen} elements but got ${histCat.length}`);
  const items = histItem.subarray(0, histLen);
  const cats = histCat.subarray(0, histLen);
  checkIds(`${field}.histItem`, items, c.itemVocab);
  checkIds(`${field}.histCat`, cats, c.catVocab);
  let user = -1;
  if (hasUserField(c)) {
    if (u.user === undefined) throw new TypeError(`${field}.user: the model has a user field, so a user id is required`);
    user = expectInteger(`${field}.user`, u.user, 0);
    if (user >= c.userVocab) throw new RangeError(`${field}.user: id ${user} is outside [0, ${c.userVocab})`);
  }
  return { histItem: items, histCat: cats, user };
}

export function checkCandidates(c: ModelConfig, candidates: Candidates, field: string): Pick<CheckedRequest, "items" | "cats"> {
  const cand = expectObject(field, candidates);
  const items = expectInt32Array(`${field}.items`, cand.items);
  const cats = expectInt32Array(`${field}.cats`, cand.cats);
  expectLength(`${field}.cats`, cats, items.length, "one per candidate item");
  checkIds(`${field}.items`, items, c.itemVocab);
  checkIds(`${field}.cats`, cats, c.catVocab);
  return { items, cats };
}

/**
 * Checks requests[i]; with copy, the arrays are copied so that later changes by the
 * caller cannot reach a call that runs later (the scorer holds requests for a while).
 */
export function checkRequest(c: ModelConfig, request: ScoreRequest, field: string, copy = false): CheckedRequest {
  const r = expectObject(field, request);
  const checked = { ...checkHistory(c, r.history as UserHistory, `${field}.history`), ...checkCandidates(c, r.candidates as Candidates, `${field}.candidates`) };
  if (!copy) return checked;
  return { ...checked, histItem: checked.histItem.slice(), histCat: checked.histCat.slice(), items: checked.items.slice(), cats: checked.cats.slice() };
}

/** Checked requests end to end, as the native call takes them. */
export function packRequests(c: ModelConfig, requests: readonly CheckedRequest[]): NativeRequests {
  const R = requests.length;
  const histOffsets = new Int32Array(R + 1);
  const candOffsets = new Int32Array(R + 1);
  for (let i = 0; i < R; i++) {
    histOffsets[i + 1] = histOffsets[i]! + requests[i]!.histItem.length;
    candOffsets[i + 1] = candOffsets[i]! + requests[i]!.items.length;
  }
  const histItem = new Int32Array(histOffsets[R]!);
  const histCat = new Int32Array(histOffsets[R]!);
  const items = new Int32Array(candOffsets[R]!);
  const cats = new Int32Array(candOffsets[R]!);
  for (let i = 0; i < R; i++) {
    const r = requests[i]!;
    histItem.set(r.histItem, histOffsets[i]);
    histCat.set(r.histCat, histOffsets[i]);
    items.set(r.items, candOffsets[i]);
    cats.set(r.cats, candOffsets[i]);
  }
  const packed: NativeRequests = { histOffsets, histItem, histCat, candOffsets, items, cats };
  if (hasUserField(c)) packed.user = Int32Array.from(requests, (r) => r.user);
  return packed;
}

/** One view per request into the results of a packed call. */
export function splitResults(results: Float32Array, requests: readonly CheckedRequest[]): Float32Array[] {
  const out: Float32Array[] = [];
  let at = 0;
  for (const r of requests) {
    out.push(results.subarray(at, at + r.items.length));
    at += r.items.length;
  }
  return out;
}
