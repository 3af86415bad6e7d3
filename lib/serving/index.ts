/**
 * `dien/serving`: the HTTP scoring service as a fastify plugin, and the reloadable model
 * service behind it. Kept out of the main entry point so that scoring from code never
 * loads fastify's validator.
 */
export { dienPlugin, scoreBodySchema } from "./http";
export type { DienPluginOptions, DienServing, ServeLimits } from "./http";
export { ModelService } from "./service";
export type { Served, ServiceOptions } from "./service";
export { Scorer, createScorer } from "./scorer";
export type { ScorerOptions, ScorerStats } from "./scorer";
