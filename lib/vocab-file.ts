/**
 * Where a weight file keeps its vocabularies (docs/model.md §12, "Vocabularies"). Small
 * ones travel inside the file, as `__metadata__.vocab`. Large ones cannot: a header is
 * at most 100 MiB (about 7 million string ids), and parsing one at load makes the load
 * as slow as the vocabulary is long. Those go to a file of their own beside the weight
 * file, `<weight file>.vocab-<sha256 prefix>.json`, and `__metadata__.vocab` holds a
 * reference to it: `{"file": name, "bytes": n, "sha256": hex}`. A load checks that the
 * file is there with its size; `model.loadVocab()` (off the event loop) or the first use
 * of `model.vocab` reads it, checks its hash and parses it into a native index.
 *
 * The name carries the content's hash, so a save never overwrites a vocabulary file
 * that some weight file names with other contents; and no save deletes one, since other
 * weight files (copies, archived versions, a concurrent save's) may name it. A crash, a
 * concurrent save or load, or a copy of the weight file therefore never leaves a weight
 * file whose vocabulary file is gone; the price is that a file no weight file names any
 * more stays until someone removes it.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { open } from "node:fs/promises";
import * as path from "node:path";

import { writeFileAtomic } from "./atomic";
import { dienError } from "./errors";
import { native } from "./native";

/** Vocabularies whose JSON text is longer go to a file of their own when `vocab` is "auto". */
export const INLINE_VOCAB_BYTES = 8 << 20;

/** "auto" (default): inline up to INLINE_VOCAB_BYTES, else a file of their own; or always one of the two. */
export type VocabPlacement = "auto" | "inline" | "file";

export interface VocabReference {
  file: string;
  bytes: number;
  sha256: string;
}

/** A reference found in a weight file, resolved against the folder the weight file is in. */
export interface VocabFile extends VocabReference {
  /** Path of the vocabulary file. */
  path: string;
  /** "<weight file>: " for messages. */
  where: string;
}

const NAME = /^(.+)\.vocab-([0-9a-f]{16})\.json$/;

function vocabFileName(weightPath: string, sha256: string): string {
  return `${path.basename(weightPath)}.vocab-${sha256.slice(0, 16)}.json`;
}

/**
 * `__metadata__.vocab` as written: a reference (returned checked) or the vocabularies
 * themselves (undefined). Only a reference is an object with a "file" key.
 */
export function parseVocabReference(raw: unknown, where: string): VocabReference | undefined {
  if (typeof raw !== "object" || raw === null || !("file" in raw)) return undefined;
  const bad = (why: string) => dienError("DIEN_BAD_WEIGHTS", `${where}__metadata__.vocab: ${why}`);
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!["file", "bytes", "sha256"].includes(key)) throw bad(`unknown key ${JSON.stringify(key)} in a vocabulary file reference`);
  const { file, bytes, sha256 } = r;
  // A bare file name in the weight file's folder: a header must not point a load anywhere else.
  if (typeof file !== "string" || !NAME.test(file) || file.includes("/") || file.includes("\\") || file.includes("\0"))
    throw bad(`file must name a vocabulary file beside the weight file (NAME.vocab-<16 hex>.json) but is ${JSON.stringify(file)}`);
  if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes < 2) throw bad(`bytes must be an integer >= 2 but is ${JSON.stringify(bytes)}`);
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) throw bad(`sha256 must be 64 lowercase hex digits but is ${JSON.stringify(sha256)}`);
  if (!file.endsWith(`.vocab-${sha256.slice(0, 16)}.json`)) throw bad(`file ${file} does not carry the start of its sha256 (${sha256.slice(0, 16)})`);
  return { file, bytes, sha256 };
}

/** The longest string V8 holds: vocabularies built in JS are saved from one, so no vocabulary file is longer. */
const MAX_VOCAB_BYTES = 0x1fffffe8;

/** Opens path without blocking (a FIFO in its place must not wait for a writer) and checks it is a regular file. */
function openRegular(file: string): { fd: number; size: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("not a regular file");
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** size bytes of fd from offset `from` (into `out`, when given); fewer when the file ends first (a file shortened meanwhile). */
function readAll<T extends Uint8Array = Buffer>(fd: number, size: number, from = 0, out: T = Buffer.allocUnsafe(size) as unknown as T): T {
  let at = 0;
  for (let n = 1; at < size && n > 0; at += n) n = readSync(fd, out, at, size - at, from + at);
  return at === size ? out : (out.subarray(0, at) as T);
}

/**
 * The regular file `name` beside the file weightPath leads to (a deploy may link to it
 * from another folder), else beside weightPath itself; size -1 (and why) when neither.
 */
export function findBeside(weightPath: string, name: string): { file: string; size: number; failure?: string } {
  const beside = path.dirname(path.resolve(weightPath));
  let folders = [beside];
  try {
    folders = [...new Set([path.dirname(realpathSync(weightPath)), beside])];
  } catch {
    // the weight file has gone since it was read: look beside its path
  }
  let failure: string | undefined;
  for (const folder of folders) {
    try {
      const f = openRegular(path.join(folder, name));
      closeSync(f.fd);
      return { file: path.join(folder, name), size: f.size };
    } catch (err) {
      failure ??= (err as Error).message;
    }
  }
  return { file: path.join(folders[0]!, name), size: -1, failure };
}

/**
 * Resolves a reference for a load by path: the file beside the weight file (beside its
 * target when the path is a symbolic link), a regular file with the size the reference says.
 */
export function locateVocabFile(ref: VocabReference, weightPath: string | undefined, where: string): VocabFile {
  if (weightPath === undefined)
    throw dienError("DIEN_BAD_WEIGHTS", `${where}the vocabularies are in a file of their own (${ref.file}), which a load from bytes cannot reach: load the weight file by its path`);
  if (ref.bytes > MAX_VOCAB_BYTES) throw dienError("DIEN_BAD_WEIGHTS", `${where}__metadata__.vocab: bytes ${ref.bytes} is over the ${MAX_VOCAB_BYTES} a vocabulary file can hold`);
  const found = findBeside(weightPath, ref.file);
  const { file, size } = found;
  if (size < 0) throw dienError("DIEN_BAD_WEIGHTS", `${where}its vocabulary file ${file} cannot be read (${found.failure}): keep it beside the weight file`);
  if (size !== ref.bytes) throw dienError("DIEN_BAD_WEIGHTS", `${where}its vocabulary file ${file} holds ${size} bytes but the weight file says ${ref.bytes}`);
  return { ...ref, path: file, where };
}

/** The vocabulary file's bytes, after checking its size and hash against the reference. */
export function readVocabFile(f: VocabFile): Uint8Array {
  let bytes: Uint8Array;
  let fd: number | undefined;
  try {
    const opened = openRegular(f.path);
    fd = opened.fd;
    if (opened.size !== f.bytes) throw new Error(`it holds ${opened.size} bytes but the weight file says ${f.bytes}`);
    bytes = readAll(fd, opened.size, 0, textBuffer(opened.size));
    if (bytes.length !== opened.size) throw new Error(`it ended after ${bytes.length} of ${opened.size} bytes`);
  } catch (err) {
    throw unreadable(f, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  checkHash(f, createHash("sha256").update(bytes).digest("hex"));
  return bytes;
}

/**
 * readVocabFile off the event loop: read in chunks on libuv's threads, each hashed as it
 * arrives (a few ms of this thread per chunk, never the whole file at once).
 */
export async function readVocabFileAsync(f: VocabFile): Promise<Uint8Array> {
  const CHUNK = 4 << 20;
  const hash = createHash("sha256");
  let bytes: Uint8Array;
  try {
    const file = await open(f.path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await file.stat();
      if (!st.isFile()) throw new Error("not a regular file");
      if (st.size !== f.bytes) throw new Error(`it holds ${st.size} bytes but the weight file says ${f.bytes}`);
      bytes = textBuffer(st.size);
      let at = 0;
      for (let n = 1; at < st.size && n > 0; at += n) {
        n = (await file.read(bytes, at, Math.min(CHUNK, st.size - at), at)).bytesRead;
        hash.update(bytes.subarray(at, at + n));
      }
      if (at !== st.size) throw new Error(`it ended after ${at} of ${st.size} bytes`);
    } finally {
      await file.close();
    }
  } catch (err) {
    throw unreadable(f, err);
  }
  checkHash(f, hash.digest("hex"));
  return bytes;
}

/** Memory for a vocabulary file's bytes that the native parser takes over without a copy, where the runtime allows it. */
function textBuffer(size: number): Uint8Array {
  return native().vocabText(size) ?? Buffer.allocUnsafe(size);
}

function unreadable(f: VocabFile, err: unknown): Error {
  return dienError("DIEN_BAD_WEIGHTS", `${f.where}its vocabulary file ${f.path} cannot be read: ${(err as Error).message}`);
}

function checkHash(f: VocabFile, sha: string): void {
  if (sha !== f.sha256) throw dienError("DIEN_BAD_WEIGHTS", `${f.where}its vocabulary file ${f.path} has sha256 ${sha}, not the ${f.sha256} the weight file names: it was changed or belongs to another model`);
}

/** What a save writes for the vocabularies: `__metadata__.vocab`, and the vocabulary file it may name. */
export interface VocabPlan {
  /** The text of `__metadata__.vocab`: the vocabularies themselves, or a reference. */
  meta: string;
  /** The vocabulary file to write beside the weight file (its bare name, and its bytes). */
  file?: { name: string; bytes: Buffer };
}

/**
 * How a file saved at weightPath carries the vocabularies `text`: inline, or (large
 * ones, or placement "file") in a vocabulary file beside it. Computed at once, so that
 * the weight file's bytes can be staged before anything is written.
 */
export function planVocab(weightPath: string, text: string | Buffer, placement: VocabPlacement): VocabPlan {
  const length = typeof text === "string" ? Buffer.byteLength(text, "utf8") : text.length;
  if (placement === "inline" || (placement === "auto" && length <= INLINE_VOCAB_BYTES)) return { meta: text.toString() };
  const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const name = vocabFileName(weightPath, sha256);
  return { meta: JSON.stringify({ file: name, bytes: bytes.length, sha256 } satisfies VocabReference), file: { name, bytes } };
}

/** Writes a plan's vocabulary file (atomically), unless a regular file with the same bytes is already there. */
export async function writeVocabFile(weightPath: string, plan: VocabPlan): Promise<void> {
  if (!plan.file) return;
  const target = path.join(path.dirname(path.resolve(weightPath)), plan.file.name);
  const want = plan.file.bytes;
  // Checkpoints save the same vocabularies again and again: keep a file that already holds them.
  let same: boolean;
  try {
    const f = openRegular(target);
    try {
      same = f.size === want.length && readAll(f.fd, f.size).equals(want);
    } finally {
      closeSync(f.fd);
    }
  } catch {
    same = false; // absent, or not a regular file: written (renamed over) below
  }
  if (!same) await writeFileAtomic(target, want);
}

/** The vocabulary file a weight file's header names, or undefined (inline or none). Reads the header only. */
export function namedVocabFile(weightPath: string): string | undefined {
  const fd = openSync(weightPath, "r");
  try {
    const len = readAll(fd, 8);
    if (len.length < 8) return undefined;
    const head = readAll(fd, Number(len.readBigUInt64LE(0)), 8);
    const meta = (JSON.parse(head.toString("utf8")) as { __metadata__?: { vocab?: string } }).__metadata__;
    if (!meta?.vocab?.startsWith('{"file":')) return undefined;
    return (JSON.parse(meta.vocab) as VocabReference).file;
  } finally {
    closeSync(fd);
  }
}
