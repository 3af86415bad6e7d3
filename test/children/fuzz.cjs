// Seeded fuzzing of one input surface, in a child process so that a crash is counted by
// the parent (test/fuzz.test.ts, scripts/fuzz.js) instead of ending its run.
//   node fuzz.cjs <surface> <seed> <cases>     surface: weights | batches | data | http | vocab
// Every case is a mutated input; the library must either accept it (and then work) or
// reject it with a clear error: a DienError (code DIEN_*), TypeError or RangeError whose
// message names what was wrong. Controls (valid inputs made differently) must be
// accepted. Prints RESULT { cases, accepted, rejected, controls, unclear: [...] }.
"use strict";
const { lib, run } = require("./common.cjs");

const [surface, seedArg, casesArg] = process.argv.slice(2);
const seed = Number(seedArg ?? 1);
const cases = Number(casesArg ?? 1000);

// xorshift32: the same cases for the same seed on every machine.
let state = (seed * 2654435761) >>> 0 || 1;
function rand() {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
}
const int = (n) => Math.floor(rand() * n);
const pick = (xs) => xs[int(xs.length)];

const CONFIG = { model: "dien", itemVocab: 60, catVocab: 7, userVocab: 9, dItem: 4, dCat: 4, dUser: 4, hidden: 8, maxLen: 6, attentionHidden: [6], mlpHidden: [8], auxHidden: [4] };
const OPTIONS = { threads: 1 };

/** A clear rejection: a library error with a message that says something. */
function clear(err) {
  if (!(err instanceof Error) || typeof err.message !== "string" || err.message.length < 12) return false;
  if (err instanceof TypeError || err instanceof RangeError) return true;
  return typeof err.code === "string" && err.code.startsWith("DIEN_");
}

function describe(err) {
  return err instanceof Error ? `${err.constructor.name} ${err.code ?? ""}: ${err.message.slice(0, 200)}` : String(err);
}

// --- weight files -------------------------------------------------------------------

function splitFile(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")), data: bytes.subarray(8 + n) };
}

function joinFile(text, data) {
  while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += " ";
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return Buffer.concat([head, Buffer.from(text, "utf8"), data]);
}

const WEIRD = [0, -1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 40), "7", null, [], {}, true, 1e308];

const SHA = "0123456789abcdef".repeat(4);

/** `__metadata__.vocab` made wrong (docs/model.md §12): lists of the wrong kind or length, and references to vocabulary files. */
function lyingVocab(current) {
  const list = (n) => ["", ...Array.from({ length: n - 1 }, (_, i) => `t${i}`)];
  const lists = { items: list(CONFIG.itemVocab), cats: list(CONFIG.catVocab), users: list(CONFIG.userVocab) };
  switch (int(8)) {
    case 0: // a list one too long or too short
      lists[pick(["items", "cats", "users"])].push("extra");
      return JSON.stringify(lists);
    case 1: // a repeated id, or padding that is not ""
      lists.items[int(2) === 0 ? 0 : 2] = lists.items[1];
      return JSON.stringify(lists);
    case 2: // an id that is not a string
      lists.cats[1 + int(CONFIG.catVocab - 1)] = pick(WEIRD);
      return JSON.stringify(lists);
    case 3: // a list missing, or not a list
      if (rand() < 0.5) delete lists[pick(["items", "cats"])];
      else lists.items = pick(WEIRD);
      return JSON.stringify(lists);
    case 4: // a reference with a field wrong (a load from bytes cannot follow even a good one)
      return JSON.stringify({
        file: pick([`m.vocab-${SHA.slice(0, 16)}.json`, "../m.vocab-0123456789abcdef.json", "/etc/passwd", "", 7, null]),
        bytes: pick([2, 1e300, -1, 1.5, "9", 2 ** 53]),
        sha256: pick([SHA, SHA.toUpperCase(), "xyz", 1]),
        ...(rand() < 0.3 ? { extra: pick(WEIRD) } : {}),
      });
    case 5: // not JSON, or JSON of another shape
      return pick(["", "{", "[]", "null", "7", '"x"', '{"file":', "[[[[[[[[[[]]]]]]]]]]"]);
    case 6: // bit-level damage to the current text
      if (typeof current === "string" && current.length > 0) {
        const at = int(current.length);
        return current.slice(0, at) + String.fromCharCode(int(128)) + current.slice(at + 1);
      }
      return "{}";
    default: // the value not a string
      return pick(WEIRD);
  }
}

function mutateHeader(bytes) {
  const { header, data } = splitFile(bytes);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = pick(names);
  const t = header[name];
  switch (int(10)) {
    case 8:
      (header.__metadata__ ??= {}).vocab = lyingVocab(header.__metadata__.vocab);
      break;
    case 0:
      t.data_offsets = [pick(WEIRD), t.data_offsets[1]];
      break;
    case 1:
      t.data_offsets = [t.data_offsets[0], t.data_offsets[1] + pick([-4, -1, 1, 4, 1 << 20, 2 ** 40])];
      break;
    case 2:
      t.shape = t.shape.map((d) => (rand() < 0.5 ? pick(WEIRD) : d));
      break;
    case 3:
      t.shape = [...t.shape, pick([1, 2, 0])];
      break;
    case 4:
      t.dtype = pick(["F32", "F16", "I8", "BF16", "F64", "I32", "U8", "BOOL", "f32", "", 7]);
      break;
    case 5:
      delete header[name];
      break;
    case 6:
      header[`${name}.copy`] = { ...t };
      break;
    case 7: {
      const meta = header.__metadata__ ?? {};
      const key = pick([...Object.keys(meta), "config", "format"]);
      if (key === "config" && typeof meta.config === "string" && rand() < 0.7) {
        const config = JSON.parse(meta.config);
        const k = pick(Object.keys(config));
        config[k] = pick([...WEIRD, "dien", "augru", [1, 2], -5]);
        meta.config = JSON.stringify(config);
      } else meta[key] = pick(["", "{", "null", "[]", '{"model":"dien"}', 5]);
      header.__metadata__ = meta;
      break;
    }
    default:
      return joinFile(JSON.stringify(header).replace(/\d+/, () => String(pick(WEIRD))), data);
  }
  return joinFile(JSON.stringify(header), data);
}

function mutateBytes(bytes) {
  const out = Buffer.from(bytes);
  const n = Number(out.readBigUInt64LE(0));
  switch (int(6)) {
    case 0: // random bit flips anywhere
      for (let k = 1 + int(8); k > 0; k--) {
        const i = int(out.length);
        out[i] ^= 1 << int(8);
      }
      return out;
    case 1: // bit flips in the header
      for (let k = 1 + int(4); k > 0; k--) {
        const i = 8 + int(n);
        out[i] ^= 1 << int(8);
      }
      return out;
    case 2: // truncated
      return out.subarray(0, int(out.length));
    case 3: // the header length lies
      out.writeBigUInt64LE(BigInt(pick([0, 1, n - 8, n - 1, n + 1, n + 8, out.length, 2 ** 32, 2 ** 53])));
      return out;
    case 4: // a value that is not finite, or huge, in the data
      {
        const at = 8 + n + 4 * int((out.length - 8 - n) / 4);
        if (at + 4 <= out.length) out.writeFloatLE(pick([NaN, Infinity, -Infinity, 3.4e38, -3.4e38]), at);
      }
      return out;
    default: // random bytes appended
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
  }
}

/** Valid files made differently: they must load. */
function control(bytes) {
  const { header, data } = splitFile(bytes);
  if (rand() < 0.5) {
    // Keys in another order, extra padding.
    const reordered = {};
    for (const k of Object.keys(header).reverse()) reordered[k] = header[k];
    return joinFile(`${JSON.stringify(reordered)}        `, data);
  }
  // Small finite changes to float32 values of a dense tensor.
  const out = Buffer.from(bytes);
  const start = out.length - data.length;
  const names = Object.keys(header).filter((k) => k !== "__metadata__" && header[k].dtype === "F32" && !k.includes("running_var") && !k.startsWith("optimizer.v."));
  if (names.length === 0) return out;
  const t = header[pick(names)];
  const [a, b] = t.data_offsets;
  for (let k = 0; k < 4 && b > a; k++) out.writeFloatLE(rand() - 0.5, start + a + 4 * int((b - a) / 4));
  return out;
}

async function fuzzWeights() {
  const seeds = [];
  for (const model of ["dien", "wide-deep", "din"]) {
    const m = await lib.DienModel.create({ ...CONFIG, model, auxAlpha: model === "dien" ? 1 : 0 }, { seed: 3 });
    seeds.push(await m.toBuffer(), await m.toBuffer({ dtype: "fp16" }), await m.toBuffer({ dtype: "int8" }));
    if (model === "dien") seeds.push(await m.trainer().toBuffer()); // a checkpoint
    m.dispose();
  }
  // A file with vocabularies inline (docs/model.md §12).
  const list = (p, n) => new lib.Vocabulary(["", ...Array.from({ length: n - 1 }, (_, i) => `${p}${i}`)]);
  const vocab = { items: list("i", CONFIG.itemVocab), cats: list("c", CONFIG.catVocab), users: list("u", CONFIG.userVocab) };
  const withVocab = await lib.DienModel.create(CONFIG, { seed: 3, vocab });
  seeds.push(await withVocab.toBuffer());
  withVocab.dispose();
  const res = { cases: 0, accepted: 0, rejected: 0, controls: 0, unclear: [] };
  for (let c = 0; c < cases; c++) {
    const base = pick(seeds);
    const isControl = c % 10 === 0;
    let bytes;
    try {
      bytes = isControl ? control(base) : rand() < 0.5 ? mutateHeader(base) : mutateBytes(base);
    } catch {
      bytes = mutateBytes(base); // a header this case cannot parse: mutate bytes instead
    }
    res.cases++;
    let model;
    try {
      model = await lib.DienModel.load(bytes, OPTIONS);
    } catch (err) {
      if (isControl) res.unclear.push(`case ${c}: a valid file was rejected: ${describe(err)}`);
      else if (!clear(err)) res.unclear.push(`case ${c}: unclear rejection: ${describe(err)}`);
      else res.rejected++;
      continue;
    }
    try {
      // A config edit may leave a valid model with a history length too long to draw here.
      if (model.config.maxLen <= 4096) await model.predict(lib.randomBatch(model.config, 3, c, 0));
      const v = model.vocab; // accepted vocabularies must work
      if (v && v.items.size !== model.config.itemVocab) throw new Error(`vocab.items has ${v.items.size} ids for itemVocab ${model.config.itemVocab}`);
      res.accepted++;
      if (isControl) res.controls++;
    } catch (err) {
      // A file whose values overflow a logit may fail there, clearly.
      if (!clear(err) || isControl) res.unclear.push(`case ${c}: predict after load: ${describe(err)}`);
      else res.rejected++;
    } finally {
      model.dispose();
    }
  }
  return res;
}

// --- batches, requests and training batches -------------------------------------------

const FIELDS = ["targetItem", "targetCat", "histItem", "histCat", "histLen", "user"];

function badValue(v) {
  const n = v.length;
  switch (int(12)) {
    case 0:
      return pick([undefined, null, 0, "1", {}, true]);
    case 1:
      return Array.from(v);
    case 2:
      return new Float32Array(v);
    case 3:
      return new Int32Array(Math.max(0, n + pick([-1, 1, -n]))).fill(0);
    case 4: {
      const shared = new Int32Array(new SharedArrayBuffer(4 * n));
      shared.set(v);
      return shared;
    }
    case 5:
      return new Uint32Array(v);
    case 6:
      return new BigInt64Array(n);
    case 7:
      return new Int16Array(n);
    default: {
      const out = Int32Array.from(v);
      if (n > 0) out[int(n)] = pick([-1, -(2 ** 31), 2 ** 31 - 1, 1000, 60, 7, 9, 100]);
      return out;
    }
  }
}

/** The same batch with its arrays as views at offsets into bigger buffers: must be accepted. */
function asViews(b) {
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    const pad = 1 + int(4);
    const buf = new v.constructor(v.length + 2 * pad);
    buf.set(v, pad);
    out[k] = buf.subarray(pad, pad + v.length);
  }
  return out;
}

async function fuzzBatches() {
  const model = await lib.DienModel.create(CONFIG, { seed: 4, threads: 1 });
  const trainer = model.trainer();
  const res = { cases: 0, accepted: 0, rejected: 0, controls: 0, unclear: [] };
  for (let c = 0; c < cases; c++) {
    res.cases++;
    const B = 1 + int(5);
    const valid = lib.randomBatch(model.config, B, c, 0);
    const kind = pick(["predict", "predict", "requests", "train"]);
    const isControl = c % 10 === 0;
    try {
      if (kind === "train") {
        const tb = lib.randomTrainBatch(model.config, B, c);
        if (!isControl) {
          const field = pick(FIELDS);
          switch (int(3)) {
            case 0:
              tb.label[int(B)] = pick([NaN, 2, -1, 0.5, Infinity]);
              break;
            case 1:
              tb.negItem[int(tb.negItem.length)] = pick([-1, 60, 2 ** 31 - 1]);
              break;
            default:
              tb[field] = badValue(tb[field]);
          }
        }
        await trainer.step(isControl ? asViews(tb) : tb);
      } else if (kind === "requests") {
        const history = { histItem: valid.histItem.subarray(0, valid.histLen[0]), histCat: valid.histCat.subarray(0, valid.histLen[0]), user: valid.user[0] };
        const candidates = { items: valid.targetItem, cats: valid.targetCat };
        const req = { history, candidates };
        if (!isControl) {
          const part = pick([history, candidates]);
          const key = pick(Object.keys(part));
          part[key] = key === "user" ? pick([-1, 9, 1.5, "3", undefined, NaN]) : key === "histLen" ? pick([-1, 7, 1.5, NaN]) : badValue(part[key]);
        }
        await model.scoreRequests([req, req]);
      } else {
        const b = isControl ? asViews(valid) : { ...valid };
        if (!isControl) {
          const field = pick(FIELDS);
          if (rand() < 0.1) delete b[field];
          else b[field] = badValue(b[field]);
          if (rand() < 0.05) b.extra = new Int32Array(B);
        }
        const out = await model.predict(b);
        if (isControl) {
          const expected = await model.predict(valid);
          if (!out.every((x, i) => x === expected[i])) res.unclear.push(`case ${c}: views at offsets scored differently`);
        }
      }
      res.accepted++;
      if (isControl) res.controls++;
    } catch (err) {
      if (isControl) res.unclear.push(`case ${c} (${kind}): a valid input was rejected: ${describe(err)}`);
      else if (!clear(err)) res.unclear.push(`case ${c} (${kind}): unclear rejection: ${describe(err)}`);
      else res.rejected++;
    }
  }
  model.dispose();
  return res;
}

// --- data files -------------------------------------------------------------------------

function dienLine(k) {
  const L = int(5);
  const hist = Array.from({ length: L }, (_, t) => `m${(k + t) % 50}`);
  return [int(2), `u${k % 9}`, `m${k % 50}`, `c${k % 5}`, hist.join("\x02"), hist.map((h) => `c${h.length % 5}`).join("\x02")].join("\t");
}

function dinLine(k) {
  const L = int(5);
  const hist = Array.from({ length: L }, (_, t) => `${(k + t) % 50}`);
  return [hist.join(" "), hist.map((h) => `${h.length % 5}`).join(" "), `${k % 50}`, `${k % 5}`, int(2)].join(";");
}

function mutateLine(line) {
  switch (int(9)) {
    case 0:
      return line.slice(0, int(line.length));
    case 1:
      return line.replace(pick(["\t", ";", "\x02", " "]), pick(["", ",", "\t\t", ";;", "\x02\x02"]));
    case 2: // invalid UTF-8 and control bytes, written as bytes below
      return `${line}\uFFFD\u0000`;
    case 3:
      return line.replace(/^[01]/, pick(["2", "-1", "0.5", "", "yes", "1e0"]));
    case 4:
      return `${line}${pick(["\t", ";", "\tx", ";x;y"])}`;
    case 5:
      return line.repeat(2 + int(3));
    case 6: // a huge line
      return `${line}${"m1\x02".repeat(20000 + int(20000))}`;
    case 7:
      return line.split("").reverse().join("");
    default: {
      const chars = line.split("");
      for (let k = 1 + int(4); k > 0; k--) chars[int(chars.length)] = String.fromCharCode(int(0x2fff));
      return chars.join("");
    }
  }
}

async function fuzzData() {
  const fs = require("node:fs");
  const os = require("node:os");
  const path = require("node:path");
  const { readSamples } = require(path.join(__dirname, "..", "..", "dist", "lib", "data", "formats"));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dien-fuzz-data-"));
  const res = { cases: 0, accepted: 0, rejected: 0, controls: 0, unclear: [] };
  try {
    for (let c = 0; c < cases; c++) {
      res.cases++;
      const format = pick(["dien", "din"]);
      const isControl = c % 10 === 0;
      const lines = Array.from({ length: 1 + int(4) }, (_, k) => (format === "dien" ? dienLine(c + k) : dinLine(c + k)));
      let text;
      if (isControl) {
        // CRLF ends, blank lines, multi-byte ids: all valid.
        text = lines.map((l) => l.replace(/m(\d)/, "m\u00e9$1")).join(pick(["\n", "\r\n", "\n\n"])) + "\n";
      } else {
        lines[int(lines.length)] = mutateLine(lines[int(lines.length)]);
        text = lines.join("\n");
      }
      const file = path.join(dir, "f.txt");
      const bytes = Buffer.from(text, "utf8");
      if (!isControl && rand() < 0.2) bytes[int(bytes.length)] = pick([0xff, 0xc0, 0x80, 0xfe]); // invalid UTF-8
      fs.writeFileSync(file, bytes);
      try {
        let n = 0;
        for await (const _ of readSamples(file, format)) n++;
        res.accepted++;
        if (isControl) {
          res.controls++;
          if (n !== lines.length) res.unclear.push(`case ${c}: ${lines.length} valid lines gave ${n} samples`);
        }
      } catch (err) {
        if (isControl) res.unclear.push(`case ${c}: a valid file was rejected: ${describe(err)}`);
        else if (!clear(err) || !/f\.txt:\d+: /.test(err.message)) res.unclear.push(`case ${c}: unclear rejection: ${describe(err)}`);
        else res.rejected++;
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return res;
}

// --- HTTP requests --------------------------------------------------------------------------

function nested(depth) {
  let v = 1;
  for (let k = 0; k < depth; k++) v = [v];
  return v;
}

function mutateBody(body) {
  const b = JSON.parse(JSON.stringify(body));
  switch (int(8)) {
    case 0:
      delete b[pick(["history", "candidates"])];
      return b;
    case 1:
      b.history[pick(["items", "cats"])][0] = pick([-1, 1.5, "", null, true, [], {}, 2 ** 31, "x".repeat(2000), 1e300]);
      return b;
    case 2:
      b.candidates[0][pick(["item", "cat"])] = pick([-1, 1.5, "", null, {}, 2 ** 53]);
      return b;
    case 3:
      b.candidates = pick([[], {}, "x", null, Array.from({ length: 1001 }, () => ({ item: 1, cat: 1 }))]);
      return b;
    case 4:
      b.user = pick([-1, 1.5, "", {}, [], 2 ** 31, "nobody"]);
      return b;
    case 5:
      b.history.items.push(1); // lengths differ
      return b;
    case 6:
      b[pick(["extra", "history"])] = nested(1 + int(50));
      return b;
    default:
      b.history.extra = 1;
      return b;
  }
}

async function fuzzHttp() {
  const path = require("node:path");
  const Fastify = require("fastify");
  const { dienPlugin } = require(path.join(__dirname, "..", "..", "dist", "lib", "serving"));
  const model = await lib.DienModel.create(CONFIG, { seed: 5, threads: 1 });
  const app = Fastify();
  await app.register(dienPlugin, { model, processMetrics: false, limits: { maxBodyBytes: 64 * 1024 } });
  const valid = { user: 3, history: { items: [1, 2, 3], cats: [1, 2, 3] }, candidates: [{ item: 4, cat: 1 }, { item: 5, cat: 2 }] };
  const res = { cases: 0, accepted: 0, rejected: 0, controls: 0, unclear: [] };
  for (let c = 0; c < cases; c++) {
    res.cases++;
    const isControl = c % 10 === 0;
    let payload;
    let headers = { "content-type": "application/json" };
    if (isControl) payload = JSON.stringify({ ...valid, candidates: valid.candidates.slice(0, 1 + int(2)) });
    else {
      const text = JSON.stringify(mutateBody(valid));
      switch (int(7)) {
        case 0:
          payload = text.slice(0, int(text.length)); // broken JSON
          break;
        case 1:
          payload = text.replace(/[{}[\],:]/, pick(["", "}", "]]", "::"]));
          break;
        case 2:
          headers = { "content-type": pick(["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", ""]) };
          payload = text;
          break;
        case 3:
          payload = `[${"1,".repeat(40000)}1]`; // over the body limit
          break;
        case 4: {
          const d = 1 + int(20000); // deep nesting, as text (JSON.stringify would overflow the stack)
          payload = `{"history":${"[".repeat(d)}1${"]".repeat(d)},"candidates":[{"item":1,"cat":1}]}`;
          break;
        }
        default:
          payload = text;
      }
    }
    let r;
    try {
      r = await app.inject({ method: "POST", url: "/v1/score", payload, headers });
    } catch (err) {
      res.unclear.push(`case ${c}: inject failed: ${describe(err)}`);
      continue;
    }
    if (r.statusCode === 200) {
      res.accepted++;
      if (isControl) res.controls++;
      continue;
    }
    const body = (() => {
      try {
        return r.json();
      } catch {
        return undefined;
      }
    })();
    if (isControl) res.unclear.push(`case ${c}: a valid request got ${r.statusCode}: ${r.body.slice(0, 200)}`);
    else if (r.statusCode >= 500 || !body || typeof body.message !== "string" || body.message.length < 8)
      res.unclear.push(`case ${c}: status ${r.statusCode}: ${r.body.slice(0, 200)}`);
    else res.rejected++;
  }
  await app.close();
  model.dispose();
  return res;
}

// --- vocabulary texts -------------------------------------------------------------------

// Strings JSON escapes and a JS Map keys exactly: quotes, controls, non-ASCII, surrogate pairs, lone surrogates.
const ODD = ["a", 'q"', "b\\s", "t\tn\n\u0001", "été", "日本", "😀", "\ud800", "\udfff", "x\ud83d", "\ufffd", "\u2028", "\u007f", "/", " "];
const FRAGMENTS = ['"', "\\", "\\u", "\\ud800", "\\udc00", "\\x", ",", "[", "]", "{", "}", ":", " ", "\n", '""', "null", "7", '"items"', '"cats"', '"users"', "\u0000", "é", "😀"];
const RAW = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0x80], [0x01]];

/** A valid vocabulary text: lists of tokens drawn from ODD and plain ids, maybe with whitespace. */
function vocabText() {
  const list = () => {
    const out = [""];
    const seen = new Set(out);
    for (let n = 1 + int(12); n > 0; n--) {
      const t = rand() < 0.5 ? pick(ODD) + (rand() < 0.5 ? String(int(50)) : "") : `id${int(1000)}`;
      if (!seen.has(t)) {
        seen.add(t);
        out.push(t);
      }
    }
    return out;
  };
  const v = { items: list(), cats: list(), ...(rand() < 0.5 ? { users: list() } : {}) };
  return rand() < 0.3 ? JSON.stringify(v, null, pick([1, 2, "\t"])) : JSON.stringify(v);
}

/** What the vocabularies of bytes are by JSON.parse and the rules of docs/model.md §12, or why not. */
function referenceVocab(text) {
  let value;
  try {
    value = JSON.parse(typeof text === "string" ? text : new TextDecoder("utf-8", { fatal: true }).decode(text));
  } catch (err) {
    return { why: err.message };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { why: "not an object" };
  const keys = Object.keys(value);
  if (!keys.every((k) => ["items", "cats", "users"].includes(k)) || !("items" in value) || !("cats" in value)) return { why: "keys" };
  for (const k of keys) {
    const l = value[k];
    if (!Array.isArray(l) || l.length === 0 || l[0] !== "" || !l.every((t) => typeof t === "string") || new Set(l).size !== l.length) return { why: `table ${k}` };
  }
  return { value };
}

/** The parser against JSON.parse on mutated texts: the same tokens when both accept, a clear error otherwise. */
async function fuzzVocab() {
  const { native } = require("../../dist/lib/native");
  const res = { cases: 0, accepted: 0, rejected: 0, controls: 0, unclear: [] };
  for (let c = 0; c < cases; c++) {
    const isControl = c % 10 === 0;
    let bytes = Buffer.from(vocabText(), "utf8");
    if (!isControl) {
      for (let m = 1 + int(3); m > 0; m--) {
        const at = int(bytes.length + 1);
        const kind = int(5);
        const piece = kind === 0 ? Buffer.from(pick(FRAGMENTS), "utf8") : kind === 1 ? Buffer.from(pick(RAW)) : Buffer.alloc(0);
        const cut = kind === 2 ? 1 + int(4) : kind === 3 ? bytes.length : 0; // delete a few bytes, or truncate
        bytes = kind === 4 ? Buffer.from(bytes.map((b, i) => (i === at ? b ^ (1 << int(8)) : b))) : Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(Math.min(bytes.length, at + cut))]);
      }
    }
    res.cases++;
    // A third of the texts go in as JS strings (the bytes decoded, U+FFFD for what is not
    // UTF-8, maybe a lone surrogate put in), which JSON.parse reads as they are.
    let text = bytes;
    if (rand() < 1 / 3) {
      text = bytes.toString("utf8");
      if (!isControl && rand() < 0.5) {
        const at = int(text.length + 1);
        text = text.slice(0, at) + String.fromCharCode(0xd800 + int(0x800)) + text.slice(at);
      }
    }
    const ref = referenceVocab(text);
    let got;
    try {
      got = rand() < 0.5 ? native().parseVocabSync(text) : await native().parseVocab(text);
    } catch (err) {
      // Duplicate keys: JSON.parse keeps the last, the parser refuses them.
      const dupKey = /key "(items|cats|users)" appears twice/.test(err.message);
      if (!clear(err) || !/^vocab/.test(err.message)) res.unclear.push(`case ${c}: unclear rejection: ${describe(err)}`);
      else if (ref.value && !dupKey) res.unclear.push(`case ${c}: JSON.parse accepts ${JSON.stringify(String(text).slice(0, 120))} but the parser says ${err.message}`);
      else res.rejected++;
      continue;
    }
    const tables = ["items", "cats", "users"].filter((k, t) => got.has(t));
    const tokens = Object.fromEntries(tables.map((k) => [k, got.tokens(["items", "cats", "users"].indexOf(k))]));
    if (!ref.value) res.unclear.push(`case ${c}: the parser accepts what JSON.parse or the rules refuse (${ref.why}): ${JSON.stringify(String(text).slice(0, 120))}`);
    else if (JSON.stringify(tokens) !== JSON.stringify(ref.value) || got.json().toString("utf8") !== JSON.stringify(ref.value)) res.unclear.push(`case ${c}: tokens differ from JSON.parse's: ${JSON.stringify(tokens).slice(0, 200)}`);
    else if (!Object.entries(ref.value).every(([k, l]) => l.every((t, i) => got.id(["items", "cats", "users"].indexOf(k), t) === (i === 0 ? 0 : i)))) res.unclear.push(`case ${c}: a token does not map to its own id`);
    else {
      res.accepted++;
      if (isControl) res.controls++;
    }
  }
  return res;
}

run(async () => {
  const surfaces = { weights: fuzzWeights, batches: fuzzBatches, data: fuzzData, http: fuzzHttp, vocab: fuzzVocab };
  const fn = surfaces[surface];
  if (!fn) throw new TypeError(`surface: expected one of ${Object.keys(surfaces).join(", ")} but got ${surface}`);
  const res = await fn();
  res.unclear = res.unclear.slice(0, 20);
  return { surface, seed, ...res };
});
