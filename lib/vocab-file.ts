/**
 * Where a weight file keeps its vocabularies (docs/model.md §12, "Vocabularies"). Small
 * ones travel inside the file, as `__metadata__.vocab`. Large ones cannot: a header is
 * at most 100 MiB (about 7 million string ids), and parsing one at load makes the load
 * as slow as the vocabulary is long. Those go to a file of their own beside the weight
 * file, `<weight file>.vocab-<sha256 prefix>.json`, and `__metadata__.vocab` holds a
 * reference to it: `{"file": name, "bytes": n, "sha256": hex}`. A load opens the file and
 * checks its size; the first use of `model.vocab` reads it, checks its hash and parses
 * it. The file stays open until then, so that the model reads the vocabularies that were
 * beside its weight file when it loaded, as a mapped model keeps the weights it mapped,
 * even if a new version is saved over the pair in between.
 *
 * The name carries the content's hash, so a save never overwrites the vocabulary file
 * that the weight file it replaces still names: a crash between the two renames leaves
 * the previous pair loadable. The previous pair's vocabulary file goes once the new
 * weight file is in place.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, openSync, promises as fs, fstatSync, readSync } from "node:fs";
import * as path from "node:path";

import { writeFileAtomic } from "./atomic";
import { dienError } from "./errors";

/** Vocabularies whose JSON text is longer go to a file of their own when `vocab` is "auto". */
export const INLINE_VOCAB_BYTES = 8 << 20;

/** "auto" (default): inline up to INLINE_VOCAB_BYTES, else a file of their own; or always one of the two. */
export type VocabPlacement = "auto" | "inline" | "file";

export interface VocabReference {
  file: string;
  bytes: number;
  sha256: string;
}

/** A reference found in a weight file, resolved against the folder the weight file is in, and opened. */
export interface VocabFile extends VocabReference {
  /** Path of the vocabulary file. */
  path: string;
  /** "<weight file>: " for messages. */
  where: string;
  /** Open until readVocabFile or closeVocabFile. */
  fd: number | undefined;
}

const NAME = /^(.+)\.vocab-([0-9a-f]{16})\.json$/;

export function vocabFileName(weightPath: string, sha256: string): string {
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

/** Resolves a reference for a load by path and opens it: a regular file with the size the reference says. */
export function openVocabFile(ref: VocabReference, weightPath: string | undefined, where: string): VocabFile {
  if (weightPath === undefined)
    throw dienError("DIEN_BAD_WEIGHTS", `${where}the vocabularies are in a file of their own (${ref.file}), which a load from bytes cannot reach: load the weight file by its path`);
  const file = path.join(path.dirname(path.resolve(weightPath)), ref.file);
  let fd: number | undefined;
  let size: number;
  try {
    // Non-blocking, so that a FIFO put in the file's place is refused instead of waiting for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    throw dienError("DIEN_BAD_WEIGHTS", `${where}its vocabulary file ${file} cannot be read (${(err as Error).message}): keep it beside the weight file`);
  }
  if (size !== ref.bytes) {
    closeSync(fd);
    throw dienError("DIEN_BAD_WEIGHTS", `${where}its vocabulary file ${file} holds ${size} bytes but the weight file says ${ref.bytes}`);
  }
  return { ...ref, path: file, where, fd };
}

export function closeVocabFile(f: VocabFile): void {
  if (f.fd !== undefined) closeSync(f.fd);
  f.fd = undefined;
}

/** The vocabulary file's text, after checking its size and hash against the reference (from the open file, or reopened). */
export function readVocabFile(f: VocabFile): string {
  let bytes: Buffer;
  try {
    f.fd ??= openSync(f.path, constants.O_RDONLY | constants.O_NONBLOCK);
    const st = fstatSync(f.fd);
    if (!st.isFile()) throw new Error("not a regular file");
    const size = st.size;
    if (size !== f.bytes) throw new Error(`it holds ${size} bytes but the weight file says ${f.bytes}`);
    bytes = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(f.fd, bytes, at, size - at, at);
      if (n === 0) throw new Error(`it ended after ${at} of ${size} bytes`);
      at += n;
    }
  } catch (err) {
    throw dienError("DIEN_BAD_WEIGHTS", `${f.where}its vocabulary file ${f.path} cannot be read: ${(err as Error).message}`);
  } finally {
    closeVocabFile(f);
  }
  const sha = createHash("sha256").update(bytes).digest("hex");
  if (sha !== f.sha256) throw dienError("DIEN_BAD_WEIGHTS", `${f.where}its vocabulary file ${f.path} has sha256 ${sha}, not the ${f.sha256} the weight file names: it was changed or belongs to another model`);
  return bytes.toString("utf8");
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
export function planVocab(weightPath: string, text: string, placement: VocabPlacement): VocabPlan {
  if (placement === "inline" || (placement === "auto" && Buffer.byteLength(text, "utf8") <= INLINE_VOCAB_BYTES)) return { meta: text };
  const bytes = Buffer.from(text, "utf8");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const name = vocabFileName(weightPath, sha256);
  return { meta: JSON.stringify({ file: name, bytes: bytes.length, sha256 } satisfies VocabReference), file: { name, bytes } };
}

/** Writes a plan's vocabulary file (atomically), unless one with the same bytes is already there. */
export async function writeVocabFile(weightPath: string, plan: VocabPlan): Promise<void> {
  if (!plan.file) return;
  const target = path.join(path.dirname(path.resolve(weightPath)), plan.file.name);
  const want = plan.file.bytes;
  // Checkpoints save the same vocabularies again and again: keep a file that already holds them.
  const same = await fs
    .readFile(target)
    .then((b) => b.equals(want))
    .catch(() => false);
  if (!same) await writeFileAtomic(target, want);
}

/** After a save to weightPath: removes its other vocabulary files (those of the files it replaced). */
export async function removeStaleVocabFiles(weightPath: string, plan: VocabPlan | undefined): Promise<void> {
  const dir = path.dirname(path.resolve(weightPath));
  const base = path.basename(weightPath);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const m = NAME.exec(name);
    if (m && m[1] === base && name !== plan?.file?.name) await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}
