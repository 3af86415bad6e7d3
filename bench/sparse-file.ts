/**
 * Sparse weight files for the mapped-loading test and the compression report: a float32
 * file with its item table grown to any number of rows, the new rows a hole (zeros) that
 * takes no disk space, so a multi-GB model costs nothing to make.
 */
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";

import { planVocab } from "../lib/vocab-file";

export interface Header {
  n: number;
  json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
}

export function header(bytes: Uint8Array): Header {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { n, json: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString("utf8")) as Header["json"] };
}

/**
 * The file of `bytes` with its item vocabulary grown to `items` rows, written sparse: the
 * new table is a hole (zeros) that takes no disk space. Its vocabularies are dropped or,
 * with `vocab`, replaced by made-up ones of the grown sizes ("item1", ..., "cat1", ...) in
 * a vocabulary file of their own beside it (lib/vocab-file.ts); returns that file's size.
 */
export function growItems(bytes: Uint8Array, items: number, file: string, opts: { vocab?: boolean } = {}): number | undefined {
  const { n, json } = header(bytes);
  const meta = json.__metadata__ as Record<string, string>;
  const config = JSON.parse(meta.config!) as Record<string, number>;
  config.itemVocab = items;
  // The file's vocabularies no longer match the grown table.
  const { vocab: _vocab, ...kept } = meta;
  const out: Header["json"] = { __metadata__: { ...kept, config: JSON.stringify(config) } };
  let vocabBytes: number | undefined;
  if (opts.vocab) {
    const tokens = (prefix: string, size: number) => ["", ...Array.from({ length: size - 1 }, (_, i) => `${prefix}${i + 1}`)];
    const lists = { items: tokens("item", items), cats: tokens("cat", config.catVocab!), ...(config.userVocab! > 0 ? { users: tokens("user", config.userVocab!) } : {}) };
    const plan = planVocab(file, JSON.stringify(lists), "file");
    writeFileSync(path.join(path.dirname(path.resolve(file)), plan.file!.name), plan.file!.bytes);
    (out.__metadata__ as Record<string, string>).vocab = plan.meta;
    vocabBytes = plan.file!.bytes.length;
  }
  const copies: { from: number; to: number; length: number }[] = [];
  let at = 0;
  for (const [name, rec] of Object.entries(json)) {
    if (name === "__metadata__") continue;
    const r = rec as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const shape = name === "embedding.item.weight" ? [items, r.shape[1]!] : r.shape;
    const length = shape.reduce((a, b) => a * b, 1) * 4;
    out[name] = { dtype: r.dtype, shape, data_offsets: [at, at + length] };
    if (name !== "embedding.item.weight") copies.push({ from: 8 + n + r.data_offsets[0], to: at, length });
    at += length;
  }
  let text = JSON.stringify(out);
  while ((8 + text.length) % 8 !== 0) text += " ";
  const head = Buffer.alloc(8 + text.length);
  head.writeBigUInt64LE(BigInt(text.length), 0);
  head.write(text, 8, "utf8");
  const fd = openSync(file, "w");
  try {
    writeSync(fd, head, 0, head.length, 0);
    for (const c of copies) writeSync(fd, bytes, c.from, c.length, head.length + c.to);
    ftruncateSync(fd, head.length + at);
  } finally {
    closeSync(fd);
  }
  return vocabBytes;
}
