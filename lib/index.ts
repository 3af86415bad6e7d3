export { DienModel } from "./model";
export type { Batch, TrainBatch } from "./types";
export type { Candidates, CreateOptions, Device, EngineOptions, IsaInfo, LossAndGradients, ModelInfo, ScoreOptions, UserHistory } from "./model";
export { Trainer } from "./trainer";
export type { StepResult, TrainerOptions } from "./trainer";
export { normalizeConfig } from "./config";
export type { ConfigInput, ModelConfig, ModelName, GruCell, AttentionKind, Evolution, Activation, AuxNet } from "./config";
export {
  BadConfigError,
  BadWeightsError,
  CudaError,
  DienError,
  DisposedError,
  ERROR_CODES,
  InternalError,
  IoError,
  NativeLoadError,
  NonFiniteError,
  OutOfMemoryError,
  UnsupportedCpuError,
  BadDataError,
} from "./errors";
export type { DienErrorCode } from "./errors";
export { cudaStatus } from "./device";
export type { CudaStatus } from "./native";
export { randomBatch, randomTrainBatch, paperDefaults } from "./synthetic";
export { auc, gauc, logloss } from "./metrics";
export {
  NegativeSampler,
  SampleStore,
  Vocabulary,
  VocabularyBuilder,
  memorySource,
  buildVocabularies,
  encodeSamples,
  epochBatches,
  loadMovieLens,
  newReport,
  parseLine,
  readSamples,
  vocabulariesFromJson,
  vocabulariesToJson,
} from "./data";
export type { BatchSource, DataFormat, EncodedSet, MovieLensOptions, MovieLensSplit, ReadOptions, ReadReport, Sample, Vocabularies } from "./data";
