/**
 * A served model that can be replaced while it serves: the current model, its scorer and
 * its version. reload() loads the new file completely (DienModel.load validates every
 * byte) before anything changes, so a corrupt or half-written file is rejected and the
 * old model keeps serving; on success the old scorer drains and its model is disposed.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

import { DienModel, type EngineOptions } from "../model";
import { type Scorer, type ScorerOptions, createScorer } from "./scorer";

export interface Served {
  model: DienModel;
  scorer: Scorer;
  /** The first 12 hex digits of the weight file's SHA-256 ("memory" for a model passed in). */
  version: string;
  /** The weight file, when the model came from one. */
  path: string | undefined;
  loadedAt: Date;
}

export interface ServiceOptions {
  engine?: EngineOptions;
  scorer?: ScorerOptions;
}

/** SHA-256 of a file, streamed (a weight file may be larger than memory). */
export async function fileVersion(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex").slice(0, 12);
}

export class ModelService {
  #current: Served | undefined;
  #reloading: Promise<Served> | undefined;
  #closing = false;
  readonly #options: ServiceOptions;
  readonly #ownsModel: boolean;

  private constructor(options: ServiceOptions, ownsModel: boolean) {
    this.#options = options;
    this.#ownsModel = ownsModel;
  }

  /** Loads path and serves it; reload() re-reads the same path unless given another. */
  static async fromFile(path: string, options: ServiceOptions = {}): Promise<ModelService> {
    const s = new ModelService(options, true);
    await s.reload(path);
    return s;
  }

  /** Serves a model the caller owns: close() drains its scorer but does not dispose it. */
  static fromModel(model: DienModel, options: ServiceOptions = {}): ModelService {
    const s = new ModelService(options, false);
    s.#current = { model, scorer: createScorer(model, options.scorer), version: "memory", path: undefined, loadedAt: new Date() };
    return s;
  }

  get current(): Served | undefined {
    return this.#closing ? undefined : this.#current;
  }

  get ready(): boolean {
    return this.current !== undefined;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Loads path (default: the current file) and swaps it in. Reloads run one at a time; a
   * failed load rejects (DIEN_BAD_WEIGHTS, DIEN_IO, ...) and leaves the current model serving.
   */
  reload(path?: string): Promise<Served> {
    const run = async (): Promise<Served> => {
      const file = path ?? this.#current?.path;
      if (file === undefined) throw new TypeError("reload: this service serves a model passed in, not a file; give a path");
      if (this.#closing) throw new Error("reload: the service is closing");
      const version = await fileVersion(file);
      const model = await DienModel.load(file, this.#options.engine);
      const next: Served = { model, scorer: createScorer(model, this.#options.scorer), version, path: file, loadedAt: new Date() };
      const previous = this.#current;
      this.#current = next;
      if (previous) void this.#retire(previous);
      return next;
    };
    const p = (this.#reloading ?? Promise.resolve()).catch(() => undefined).then(run);
    this.#reloading = p;
    return p;
  }

  /** Stops serving: waits for a reload in progress, drains the scorer, disposes a model it loaded. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#reloading?.catch(() => undefined);
    const last = this.#current;
    this.#current = undefined;
    if (last) await this.#retire(last);
  }

  async #retire(s: Served): Promise<void> {
    await s.scorer.close();
    if (this.#ownsModel) s.model.dispose();
  }
}
