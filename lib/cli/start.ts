/**
 * `npm start`: the main job on an embedded default. Until training lands, that is a
 * seeded random-weight DIEN at paper defaults scoring a generated batch, printing a
 * few scores and the throughput.
 */
import { DienModel, paperDefaults, randomBatch } from "../index";

async function main(): Promise<void> {
  const batchSize = Number(process.env.DIEN_START_BATCH ?? 1024);
  using model = await DienModel.create(paperDefaults(), { seed: 2019 });
  const info = model.info();
  const c = info.config;
  console.log(`dien: model ${c.model} (${c.evolution}, ${c.attention} attention, ${c.activation} MLP ${c.mlpHidden.join("-")}), E=${c.dItem + c.dCat} H=${c.hidden} T=${c.maxLen}`);
  console.log(`      ${info.parameters.toLocaleString("en-US")} parameters, backend ${info.backend} with ${info.threads} threads (${info.reason})`);
  const batch = randomBatch(c, batchSize, 7);
  await model.predict(batch); // warm-up
  const times: number[] = [];
  let scores: Float32Array = new Float32Array(0);
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    scores = await model.predict(batch);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[2]!;
  console.log(`scored ${batchSize} generated samples (history lengths 1..${c.maxLen}); first scores:`);
  for (let i = 0; i < 5; i++)
    console.log(`  sample ${i}: item ${batch.targetItem[i]} cat ${batch.targetCat[i]} history ${batch.histLen[i]} -> p(click) = ${scores[i]!.toFixed(6)}`);
  console.log(`throughput: ${Math.round((batchSize / median) * 1000).toLocaleString("en-US")} samples/s (median of 5 batches, ${median.toFixed(2)} ms per batch)`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
