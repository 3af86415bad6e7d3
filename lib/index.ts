export { DienModel } from "./model";
export type { Batch, Candidates, ScoreRequest, TrainBatch, UserHistory } from "./types";
export type { CreateOptions, Device, EngineOptions, IsaInfo, LossAndGradients, ModelInfo, SaveOptions, ScoreOptions, WeightDtype } from "./model";
export { Trainer } from "./trainer";
export type { StepResult, TrainerOptions } from "./trainer";
export { ROCKET_EMBEDDINGS, RocketTrainer, rocketTrainer } from "./rocket";
export type { RocketEmbeddings, RocketOptions, RocketStepResult } from "./rocket";
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
  OverloadedError,
} from "./errors";
export type { DienErrorCode } from "./errors";
export { cudaStatus } from "./device";
export type { CudaStatus } from "./native";
export { Scorer, createScorer } from "./serving/scorer";
export type { ScorerOptions, ScorerStats } from "./serving/scorer";
export { randomBatch, randomRequests, randomTrainBatch, paperDefaults } from "./synthetic";
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
