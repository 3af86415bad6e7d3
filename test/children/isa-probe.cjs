// Loads the package's addon as the loader picks it (DIEN_ISA and the CPU decide), scores
// a seeded batch with a seeded model and prints one line: RESULT {level, available,
// scores} or RESULT {name, code, message}. Run by test/isa.test.ts, under qemu too.
const path = require("node:path");
const { DienModel, randomBatch } = require(path.join(__dirname, "..", "..", "dist", "lib"));

(async () => {
  try {
    const m = await DienModel.create({ itemVocab: 40, catVocab: 6, hidden: 12, maxLen: 12 }, { seed: 3 });
    const scores = await m.predict(randomBatch(m.config, 5, 4));
    const { level, available } = m.info().isa;
    m.dispose();
    console.log("RESULT " + JSON.stringify({ level, available, scores: Array.from(scores) }));
  } catch (e) {
    console.log("RESULT " + JSON.stringify({ name: e.name, code: e.code, message: e.message }));
  }
})();
