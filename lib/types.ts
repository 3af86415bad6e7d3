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
