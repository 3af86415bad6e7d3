// A file of a few hundred bytes whose config declares 250 million items: it must be
// rejected at once, without allocating (or zero-filling) the tables it describes.
//   node huge-header.cjs
"use strict";
const { lib, run, CONFIG } = require("./common.cjs");

function headerOnly(itemVocab) {
  const config = { ...lib.normalizeConfig(CONFIG), itemVocab };
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: "dien", version: "1", config: JSON.stringify(config) } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header]);
}

run(async () => {
  // The same rejection with a small vocabulary first: it warms up everything but the
  // tables, so the peak RSS after the huge one shows only what its vocabulary cost.
  await lib.DienModel.load(headerOnly(CONFIG.itemVocab)).catch(() => undefined);
  const peakBefore = process.resourceUsage().maxRSS;
  const file = headerOnly(250_000_000);
  const t0 = performance.now();
  const err = await lib.DienModel.load(file).catch((e) => e);
  const ms = performance.now() - t0;
  const peakAfter = process.resourceUsage().maxRSS;
  return { bytes: file.length, code: err && err.code, message: err && err.message, ms, rssGrowthMb: (peakAfter - peakBefore) / 1024 };
});
