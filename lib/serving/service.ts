/**
 * A served model that can be replaced while it serves: the current model, its scorer and
 * its version. reload() loads the new file completely (DienModel.load validates every
 * byte) before anything changes, so a corrupt or half-written file is rejected and the
 * old model keeps serving; on success the old scorer drains and its model is disposed.
 */
import { createHash } from "node:crypto";
import { createReadStream, promises as fs } from "node:fs";

import { dienError } from "../errors";
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
  scorer?: Omit<ScorerOptions, "onBatch">;
}

type BatchListener = NonNullable<ScorerOptions["onBatch"]>;

/** SHA-256 of a file, streamed (a weight file may be larger than memory). */
export async function fileVersion(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex").slice(0, 12);
}

/** What identifies one version of a file on disk: replaced or rewritten, it changes. */
async function identity(path: string): Promise<string> {
  const s = await fs.stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
}

export class ModelService {
  #current: Served | undefined;
  #reloading: Promise<Served> | undefined;
  #closing = false;
  readonly #options: ServiceOptions;
  // Models this service loaded (and so disposes); a model passed in is its owner's.
  readonly #owned = new WeakSet<DienModel>();
  readonly #retiring = new Set<Promise<void>>();
  readonly #retiringScorers = new Set<Scorer>();
  readonly #batchListeners: BatchListener[] = [];

  private constructor(options: ServiceOptions) {
    this.#options = options;
  }

  /** Loads path and serves it; reload() re-reads the same path unless given another. */
  static async fromFile(path: string, options: ServiceOptions = {}): Promise<ModelService> {
    const s = new ModelService(options);
    await s.reload(path);
    return s;
  }

  /**
   * Serves a model the caller owns: close() drains its scorer but does not dispose it.
   * Vocabularies in a file of their own are read at the first request that names a string
   * id, on the event loop, unless the caller has awaited `model.loadVocab()` first.
   */
  static fromModel(model: DienModel, options: ServiceOptions = {}): ModelService {
    const s = new ModelService(options);
    s.#current = { model, scorer: s.#scorer(model), version: "memory", path: undefined, loadedAt: new Date() };
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

  /** Requests waiting in the current scorer and in any still draining after a reload. */
  get queued(): number {
    let n = this.#current?.scorer.stats().queued ?? 0;
    for (const s of this.#retiringScorers) n += s.stats().queued;
    return n;
  }

  /** Called after every native call of this service's scorers, present and future. */
  onBatch(listener: BatchListener): void {
    this.#batchListeners.push(listener);
  }

  /**
   * Loads path (default: the current file) and swaps it in. Reloads run one at a time; a
   * failed load rejects (DIEN_BAD_WEIGHTS, DIEN_IO, ...) and leaves the current model serving.
   */
  reload(path?: string): Promise<Served> {
    const run = async (): Promise<Served> => {
      const file = path ?? this.#current?.path;
      if (file === undefined) throw new TypeError("reload: this service serves a model passed in, not a file; give a path");
      if (this.#closing) throw dienError("DIEN_DISPOSED", "reload: the service is closing");
      // The version must name the bytes that were loaded: a file replaced between the
      // hash and the load (a deploy racing the reload) is refused, not mislabelled.
      const before = await identity(file);
      const version = await fileVersion(file);
      const model = await DienModel.load(file, this.#options.engine);
      try {
        // Vocabularies kept in a file of their own are read at their first use: make that
        // now (off the event loop, while the current model serves), so that a bad one
        // fails the reload, not the first request.
        await model.loadVocab();
      } catch (err) {
        model.dispose();
        throw err;
      }
      if ((await identity(file).catch(() => "gone")) !== before) {
        model.dispose();
        throw dienError("DIEN_IO", `${file}: the file changed while it was being loaded; reload again once it is complete`);
      }
      this.#owned.add(model);
      const next: Served = { model, scorer: this.#scorer(model), version, path: file, loadedAt: new Date() };
      const previous = this.#current;
      this.#current = next;
      if (previous) this.#retire(previous);
      return next;
    };
    const p = (this.#reloading ?? Promise.resolve()).catch(() => undefined).then(run);
    this.#reloading = p;
    return p;
  }

  /** Stops serving: waits for a reload in progress, drains every scorer, disposes the models it loaded. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.#reloading?.catch(() => undefined);
    const last = this.#current;
    this.#current = undefined;
    if (last) this.#retire(last);
    await Promise.all(this.#retiring);
  }

  #scorer(model: DienModel): Scorer {
    return createScorer(model, {
      ...this.#options.scorer,
      onBatch: (b) => {
        for (const listener of this.#batchListeners) listener(b);
      },
    });
  }

  #retire(s: Served): void {
    this.#retiringScorers.add(s.scorer);
    const done = s.scorer.close().then(() => {
      this.#retiringScorers.delete(s.scorer);
      if (this.#owned.has(s.model)) s.model.dispose();
      this.#retiring.delete(done);
    });
    this.#retiring.add(done);
  }
}
