/** The data pipeline: readers, MovieLens protocol, vocabularies, encoding, negatives, batches. */
export { type DataFormat, type ReadOptions, type ReadReport, type Sample, newReport, parseLine, readSamples } from "./formats";
export { type MovieLensOptions, type MovieLensSplit, loadMovieLens } from "./movielens";
export { type Vocabularies, Vocabulary, vocabulariesFromJson, vocabulariesToJson } from "./vocab";
export { type EncodedSet, NegativeSampler, VocabularyBuilder, buildVocabularies, encodeSamples, epochBatches } from "./dataset";
export { type BatchSource, SampleStore, memorySource } from "./store";
