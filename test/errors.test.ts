// The error table: every code the native addon can raise (native/common/error_codes.h,
// read back through the addon) maps to a DienError subclass carrying that code, the
// TypeScript table has nothing the native one lacks, and every code the README
// promises exists.
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

import { DienError, DienModel, ERROR_CODES, type DienErrorCode } from "../lib";
import { fromNative } from "../lib/errors";
import { native } from "../lib/native";

const nativeCodes = native().errorCodes();

describe("one error table", () => {
  it("the addon lists its codes, each with a meaning", () => {
    expect(nativeCodes.length).toBeGreaterThanOrEqual(8);
    for (const { code, meaning } of nativeCodes) {
      expect(code).toMatch(/^DIEN_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
    expect(nativeCodes.map((c) => c.code)).toContain("DIEN_CUDA");
  });

  it("every native code becomes a DienError subclass with that code", () => {
    for (const { code } of nativeCodes) {
      let thrown: unknown;
      try {
        native().raiseCoded(code, `a ${code} failure`);
      } catch (e) {
        thrown = e;
      }
      expect(thrown, code).toBeInstanceOf(Error);
      expect((thrown as { code?: string }).code).toBe(code);
      const err = fromNative(thrown);
      const entry = ERROR_CODES[code as DienErrorCode];
      expect(entry, `${code} has no entry in lib/errors.ts`).toBeDefined();
      expect(err).toBeInstanceOf(DienError);
      expect(err).toBeInstanceOf(entry.errorClass);
      expect(err).toMatchObject({ code, message: `a ${code} failure`, name: entry.errorClass.name });
    }
  });

  it("the TypeScript table marks exactly the native codes as native", () => {
    const tsNative = Object.entries(ERROR_CODES).filter(([, e]) => e.native).map(([c]) => c).sort();
    expect(tsNative).toEqual(nativeCodes.map((c) => c.code).sort());
    const classes = new Set(Object.values(ERROR_CODES).map((e) => e.errorClass));
    expect(classes.size).toBe(Object.keys(ERROR_CODES).length); // one class per code
  });

  it("the README's error table lists every code with its class, and nothing else", () => {
    const readme = readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    const rows = [...readme.matchAll(/^\| `(DIEN_[A-Z_]+)` \| `(\w+Error)` \|/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(rows.map(([code]) => code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, cls] of rows) expect(ERROR_CODES[code as DienErrorCode].errorClass.name, code).toBe(cls);
  });

  it("an unknown code is a RangeError, not a crash", () => {
    expect(() => native().raiseCoded("DIEN_NOPE", "x")).toThrow(RangeError);
  });

  it("public calls reject with the subclasses", async () => {
    const m = await DienModel.create({ itemVocab: 10, catVocab: 3, maxLen: 4 });
    m.dispose();
    await expect(m.predict({ targetItem: new Int32Array(0), targetCat: new Int32Array(0), histItem: new Int32Array(0), histCat: new Int32Array(0), histLen: new Int32Array(0) })).rejects.toBeInstanceOf(ERROR_CODES.DIEN_DISPOSED.errorClass);
    await expect(DienModel.create({ model: "base", itemVocab: 10, catVocab: 3, auxAlpha: 1 })).rejects.toBeInstanceOf(ERROR_CODES.DIEN_BAD_CONFIG.errorClass);
  });
});
