/** Trainer: Adam on a DienModel, in place, through the model's queue; checkpoints that resume bit for bit. */
import { fromNative } from "./errors";
// model.ts imports this file too: the cycle is safe because neither uses the other at load time.
import { CHECK_TRAIN_BATCH, DienModel, ENQUEUE, type EngineOptions, FROM_HANDLE, RUN_QUEUED, VOCAB_PLAN, engineOptions, saveWithVocab } from "./model";
import { type NativeLosses, type NativeTrainer, type NativeTrainerOptions, native } from "./native";
import type { TrainBatch } from "./types";
import { expectOptions, invalidType, signalOption } from "./validate";

export interface TrainerOptions {
  /** Learning rate (default 1e-3, docs/model.md §9). */
  lr?: number;
  /** Adam's beta1, beta2 (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** L2 on the embedding rows a step reads: adds embeddingL2 * row to their gradient (default 0). */
  embeddingL2?: number;
  /** > 0: scale the whole gradient down to this global L2 norm before the update (default 0: off). */
  clipNorm?: number;
  /** endEpoch() multiplies the learning rate by this (default 1; the original code uses 0.5). */
  lrDecay?: number;
}

export interface StepResult {
  /** The batch's training-mode loss before the update: bceLoss + auxAlpha * auxLoss. */
  loss: number;
  bceLoss: number;
  auxLoss: number;
  /** Global L2 norm of the gradient (after embeddingL2, before clipping). */
  gradNorm: number;
}

export const TRAINER_OPTIONS = ["lr", "betas", "eps", "embeddingL2", "clipNorm", "lrDecay"] as const;

/** A number option: a TypeError if not a number, a RangeError if not finite or not ok. */
export function finite(field: string, v: unknown, ok: (x: number) => boolean, rule: string): number {
  if (typeof v !== "number") throw invalidType(field, "a number", v);
  if (!Number.isFinite(v) || !ok(v)) throw new RangeError(`${field}: expected ${rule} but got ${v}`);
  return v;
}

/** Options with defaults filled and every value checked (the engine checks them again). */
export function trainerOptions(opts: unknown): NativeTrainerOptions {
  const o = opts === undefined ? {} : expectOptions("options", opts, TRAINER_OPTIONS);
  let beta1 = 0.9;
  let beta2 = 0.999;
  if (o.betas !== undefined) {
    if (!Array.isArray(o.betas) || o.betas.length !== 2) throw invalidType("options.betas", "an array of two numbers", o.betas);
    beta1 = finite("options.betas[0]", o.betas[0], (x) => x >= 0 && x < 1, "a number in [0, 1)");
    beta2 = finite("options.betas[1]", o.betas[1], (x) => x >= 0 && x < 1, "a number in [0, 1)");
  }
  return {
    lr: o.lr === undefined ? 1e-3 : finite("options.lr", o.lr, (x) => x > 0, "a number > 0"),
    beta1,
    beta2,
    eps: o.eps === undefined ? 1e-8 : finite("options.eps", o.eps, (x) => x > 0, "a number > 0"),
    embeddingL2: o.embeddingL2 === undefined ? 0 : finite("options.embeddingL2", o.embeddingL2, (x) => x >= 0, "a number >= 0"),
    clipNorm: o.clipNorm === undefined ? 0 : finite("options.clipNorm", o.clipNorm, (x) => x >= 0, "a number >= 0 (0: off)"),
    lrDecay: o.lrDecay === undefined ? 1 : finite("options.lrDecay", o.lrDecay, (x) => x > 0 && x <= 1, "a number in (0, 1]"),
  };
}

export class Trainer {
  readonly model: DienModel;
  readonly #native: NativeTrainer;

  /** Made by model.trainer() or Trainer.resume(). */
  constructor(model: DienModel, handle: NativeTrainer) {
    this.model = model;
    this.#native = handle;
  }

  /**
   * Resumes from a checkpoint written by trainer.save(): the model (weights and running
   * statistics), the Adam moments, the step count, epoch and learning rate. Continuing
   * gives bit for bit the losses of the run that was never interrupted.
   */
  static async resume(path: string, opts?: EngineOptions): Promise<Trainer> {
    if (typeof path !== "string" || path.length === 0) throw invalidType("path", "a non-empty file path", path);
    const options = engineOptions(opts);
    try {
      const { model, trainer } = await native().resumeTrainer(path, options);
      return new Trainer(await DienModel[FROM_HANDLE](model, path), trainer);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Steps taken (over the model's whole training, resumed runs included). */
  get steps(): number {
    return this.#native.info().steps;
  }

  get epoch(): number {
    return this.#native.info().epoch;
  }

  /** The current learning rate. */
  get lr(): number {
    return this.#native.info().lr;
  }

  /** The options this trainer runs with, defaults filled in (a resumed one: its checkpoint's). */
  get options(): Required<TrainerOptions> {
    const o = this.#native.info().options;
    return { lr: o.lr, betas: [o.beta1, o.beta2], eps: o.eps, embeddingL2: o.embeddingL2, clipNorm: o.clipNorm, lrDecay: o.lrDecay };
  }

  /**
   * One Adam step on the model, in place, off the event loop. Waits for the model's earlier
   * calls; a predict made after it sees the new weights. A bad batch is rejected before
   * any work, and a step whose loss or gradient is not finite (DIEN_NON_FINITE) changes nothing.
   */
  async step(batch: TrainBatch, opts?: { signal?: AbortSignal }): Promise<StepResult> {
    const signal = signalOption(opts);
    const inputs = this.model[CHECK_TRAIN_BATCH](batch);
    const r = await this.model[ENQUEUE]<NativeLosses & { gradNorm: number }>(() => this.#native.stageStep(inputs), signal);
    return { loss: r.loss, bceLoss: r.bceLoss, auxLoss: r.auxLoss, gradNorm: r.gradNorm };
  }

  /** Ends an epoch: the learning rate is multiplied by lrDecay (after the steps already queued). */
  async endEpoch(): Promise<void> {
    await this.model[RUN_QUEUED](async () => this.#native.endEpoch());
  }

  /** Weights + optimiser state as checkpoint bytes (a weight file that DienModel.load also reads). */
  async toBuffer(): Promise<Buffer> {
    const plan = this.model[VOCAB_PLAN](undefined, "inline");
    return this.model[ENQUEUE]<Buffer>(() => this.#native.stageSave(plan?.meta));
  }

  /**
   * Writes the checkpoint atomically (temp file, fsync, rename); large vocabularies in a
   * file of their own beside it, as DienModel.save does.
   */
  async save(path: string): Promise<void> {
    if (typeof path !== "string" || path.length === 0) throw invalidType("path", "a non-empty string", path);
    const plan = this.model[VOCAB_PLAN](path, "auto");
    await saveWithVocab(path, plan, this.model[ENQUEUE]<Buffer>(() => this.#native.stageSave(plan?.meta)));
  }
}
