/**
 * Rocket Launching (docs/model.md §11): a light net trained beside a booster, the two
 * sharing the embedding layer, the light net pulled towards the booster's logits by the
 * hint loss λ · mean_b (ℓ_booster − ℓ_light)². The gradient block keeps the hint away
 * from the booster's own tensors. Both stay ordinary DienModels: serve or save either.
 */
import { fromNative } from "./errors";
import { CHECK_TRAIN_BATCH, DienModel, HANDLE, RUN_QUEUED } from "./model";
import { type NativeRocketLosses, type NativeRocketTrainer, native } from "./native";
import { TRAINER_OPTIONS, type TrainerOptions, finite, trainerOptions } from "./trainer";
import type { TrainBatch } from "./types";
import { expectOneOf, expectOptions, invalidType, signalOption } from "./validate";

export interface RocketOptions extends TrainerOptions {
  /** Weight of the hint loss (default 0.03, the paper's). 0 trains the two nets side by side with shared embeddings only. */
  lambda?: number;
  /**
   * What trains the shared embedding layer: "joint" (default, the paper's) sums both nets'
   * gradients, the hint's included; "booster" lets the booster alone train it, the light
   * net reading the rows without writing them (its gradient stops at the embedding layer).
   * On data where the embeddings can memorise training users (docs/experiments/rocket.md)
   * "booster" keeps the light net from taking that memorisation over as its own.
   */
  embeddings?: RocketEmbeddings;
}

export const ROCKET_EMBEDDINGS = ["joint", "booster"] as const;
export type RocketEmbeddings = (typeof ROCKET_EMBEDDINGS)[number];

export interface RocketStepResult {
  /** booster.bceLoss + auxAlpha · booster.auxLoss + light.bceLoss + auxAlpha · light.auxLoss + λ · hintLoss, before the update. */
  loss: number;
  booster: { bceLoss: number; auxLoss: number };
  light: { bceLoss: number; auxLoss: number };
  /** mean_b (ℓ_booster − ℓ_light)², training-mode logits. */
  hintLoss: number;
  /** L2 norm of both nets' gradients together, before clipping (each net is clipped by its own). */
  gradNorm: number;
}

/**
 * Runs task once it holds both models' queues. Both places are taken now, on this thread,
 * so every queue sees every call in the order the calls were made: the earliest call
 * still waiting is at the front of each of its queues, and no two calls can wait on each
 * other. The first queue is held (idle) until the second reaches the task. An abort while
 * waiting in either queue drops the task and frees the other.
 */
function inBoth<T>(first: DienModel, second: DienModel, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let reached!: () => void;
  let release!: () => void;
  const firstReached = new Promise<void>((r) => (reached = r));
  const released = new Promise<void>((r) => (release = r));
  const holding = first[RUN_QUEUED](async () => {
    reached();
    await released;
  }, signal);
  holding.catch(() => {}); // reported through result
  let result: Promise<T>;
  try {
    result = second[RUN_QUEUED](async () => {
      await Promise.race([firstReached, holding]); // holding rejects only when aborted in the first queue
      signal?.throwIfAborted();
      return task();
    }, signal);
  } catch (err) {
    release(); // second was disposed: free the first queue
    throw err;
  }
  void result.then(release, release);
  return result;
}

export class RocketTrainer {
  readonly booster: DienModel;
  readonly light: DienModel;
  readonly #native: NativeRocketTrainer;

  /** Made by rocketTrainer(). */
  private constructor(booster: DienModel, light: DienModel, handle: NativeRocketTrainer) {
    this.booster = booster;
    this.light = light;
    this.#native = handle;
  }

  /** @internal */
  static create(booster: DienModel, light: DienModel, opts?: RocketOptions): RocketTrainer {
    const { lambda, embeddings, ...adam } = opts === undefined ? {} : (expectOptions("options", opts, [...TRAINER_OPTIONS, "lambda", "embeddings"]) as RocketOptions);
    const options = {
      ...trainerOptions(adam),
      lambda: lambda === undefined ? 0.03 : finite("options.lambda", lambda, (x) => x >= 0, "a finite number >= 0"),
      embeddings: embeddings === undefined ? "joint" : expectOneOf("options.embeddings", embeddings, ROCKET_EMBEDDINGS),
    };
    try {
      return new RocketTrainer(booster, light, booster[HANDLE]().createRocketTrainer(light[HANDLE](), options));
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** The model batches are checked against (the booster; the light net takes the same batches). */
  get model(): DienModel {
    return this.booster;
  }

  get steps(): number {
    return this.#native.info().steps;
  }

  get epoch(): number {
    return this.#native.info().epoch;
  }

  get lr(): number {
    return this.#native.info().lr;
  }

  get lambda(): number {
    return this.#native.info().lambda;
  }

  /** What trains the shared embedding layer (RocketOptions.embeddings). */
  get embeddings(): RocketEmbeddings {
    return this.#native.info().embeddings;
  }

  /**
   * One joint Adam step off the event loop, in both models' queues (the batch is copied
   * now): the booster's pass, the light net's pass against the booster's logits, then one
   * update of both (the shared embedding rows once, with the two nets' gradients summed).
   * The first step also gives the light net the booster's embedding tables. A bad batch
   * is rejected before any work; a step whose loss or gradient is not finite changes
   * neither net, and its error names the net.
   */
  async step(batch: TrainBatch, opts?: { signal?: AbortSignal }): Promise<RocketStepResult> {
    const signal = signalOption(opts);
    const inputs = this.booster[CHECK_TRAIN_BATCH](batch);
    this.light[CHECK_TRAIN_BATCH](batch);
    let call;
    try {
      call = this.#native.stageStep(inputs); // the batch is copied now: the caller may reuse its arrays
    } catch (err) {
      throw fromNative(err);
    }
    const r = await inBoth(
      this.booster,
      this.light,
      async () => {
        // DIEN_DISPOSED when either model was disposed while the step waited.
        this.booster[HANDLE]();
        this.light[HANDLE]();
        try {
          return await native().runCall<NativeRocketLosses>(call);
        } catch (err) {
          throw fromNative(err);
        }
      },
      signal,
    );
    return {
      loss: r.loss,
      booster: { bceLoss: r.boosterBce, auxLoss: r.boosterAux },
      light: { bceLoss: r.lightBce, auxLoss: r.lightAux },
      hintLoss: r.hintLoss,
      gradNorm: r.gradNorm,
    };
  }

  /** Ends an epoch: the learning rate is multiplied by lrDecay (after the steps already queued). */
  async endEpoch(): Promise<void> {
    await inBoth(this.booster, this.light, async () => this.#native.endEpoch());
  }
}

/**
 * Rocket Launching over two models made with the same embedding shapes (itemVocab,
 * catVocab, userVocab, dItem, dCat, dUser), the same maxLen and the same need for aux
 * negatives; anything else may differ (typically `hidden`: 108 for the booster, 32 for
 * the light net). The light net's embedding tables become the booster's at the first step.
 *
 *   const booster = await DienModel.create({ ...config, hidden: 108 }, { vocab });
 *   const light = await DienModel.create({ ...config, hidden: 32 }, { vocab });
 *   const rocket = rocketTrainer(booster, light, { lr: 1e-3, lambda: 0.03 });
 *   await rocket.step(batch);
 *   await light.save("light.safetensors");
 */
export function rocketTrainer(booster: DienModel, light: DienModel, opts?: RocketOptions): RocketTrainer {
  if (!(booster instanceof DienModel)) throw invalidType("booster", "a DienModel", booster);
  if (!(light instanceof DienModel)) throw invalidType("light", "a DienModel", light);
  if (booster === light) throw new RangeError("light: the light net must be a different model from the booster");
  return RocketTrainer.create(booster, light, opts);
}
