export { DienModel } from "./model";
export type { Batch, Candidates, CreateOptions, Device, EngineOptions, ModelInfo, ScoreOptions, UserHistory } from "./model";
export { normalizeConfig } from "./config";
export type { ConfigInput, ModelConfig, ModelName, GruCell, AttentionKind, Evolution, Activation, AuxNet } from "./config";
export { DienError } from "./errors";
export type { DienErrorCode } from "./errors";
export { cudaStatus } from "./device";
export type { CudaStatus } from "./native";
export { randomBatch, paperDefaults } from "./synthetic";
