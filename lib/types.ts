/** One batch of docs/model.md §2: B samples, histories right-padded to maxLen. */
export interface Batch {
  targetItem: Int32Array;
  targetCat: Int32Array;
  /** [B, maxLen] row-major; positions t >= histLen[b] are ignored but must hold valid ids. */
  histItem: Int32Array;
  histCat: Int32Array;
  histLen: Int32Array;
  /** Required exactly when the model has a user field. */
  user?: Int32Array;
}

/** A training batch (docs/model.md §2): a Batch with labels and, when the aux loss is on, negatives. */
export interface TrainBatch extends Batch {
  /** [B]: 1 for a click, 0 otherwise. */
  label: Float32Array;
  /**
   * [B, maxLen]: one sampled negative behaviour per position (docs/model.md §8). Required
   * exactly when the model has a GRU and auxAlpha > 0; must be left out otherwise.
   */
  negItem?: Int32Array;
  negCat?: Int32Array;
}

/** One user's behaviour history, oldest first. */
export interface UserHistory {
  histItem: Int32Array;
  histCat: Int32Array;
  /** Defaults to histItem.length; at most maxLen. */
  histLen?: number;
  /** Required exactly when the model has a user field. */
  user?: number;
}

/** K candidate items to score for one user. */
export interface Candidates {
  items: Int32Array;
  cats: Int32Array;
}

/** One user's history and the candidates to score for it (docs/model.md §15). */
export interface ScoreRequest {
  history: UserHistory;
  candidates: Candidates;
}
