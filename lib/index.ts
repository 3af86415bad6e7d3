export { DienModel } from "./model";
export type { Batch } from "./types";
export type { Candidates, CreateOptions, Device, EngineOptions, IsaInfo, ModelInfo, ScoreOptions, UserHistory } from "./model";
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
} from "./errors";
export type { DienErrorCode } from "./errors";
export { cudaStatus } from "./device";
export type { CudaStatus } from "./native";
export { randomBatch, paperDefaults } from "./synthetic";
