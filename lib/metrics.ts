/**
 * Evaluation metrics of the paper: AUC (exact, tie-aware), GAUC (per-user AUC weighted by
 * impressions, users with one class skipped) and log-loss. Checked against scikit-learn
 * (test/fixtures/metrics.json, python/make_metric_fixtures.py).
 */
type Scores = Float32Array | Float64Array | number[];
type Labels = Float32Array | Float64Array | Int32Array | number[];

function checkLabels(field: string, labels: Labels): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`${field}[${i}]: expected 0 or 1 but got ${y}`);
  }
}

function checkScores(field: string, scores: Scores): void {
  for (let i = 0; i < scores.length; i++)
    if (!Number.isFinite(scores[i]!)) throw new RangeError(`${field}[${i}]: expected a finite number but got ${scores[i]}`);
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann-Whitney statistic, exactly). NaN when one
 * class is missing.
 */
export function auc(scores: Scores, labels: Labels): number {
  if (scores.length !== labels.length) throw new RangeError(`labels: expected ${scores.length} elements (one per score) but got ${labels.length}`);
  checkScores("scores", scores);
  checkLabels("labels", labels);
  return aucOf(Array.from({ length: scores.length }, (_, i) => i), scores, labels);
}

function aucOf(idx: number[], scores: Scores, labels: Labels): number {
  idx.sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j < idx.length && scores[idx[j]!] === scores[idx[i]!]) j++;
    const midRank = (i + 1 + j) / 2; // average 1-based rank of the tie group
    for (let k = i; k < j; k++)
      if (labels[idx[k]!] === 1) {
        pos++;
        rankSum += midRank;
      }
    i = j;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Group AUC (Zhou et al., DIN): sum over users of impressions x AUC, over the sum of their
 * impressions, counting only users with both a click and a non-click.
 */
export function gauc(scores: Scores, labels: Labels, users: Int32Array | number[]): { gauc: number; users: number; impressions: number } {
  if (scores.length !== labels.length) throw new RangeError(`labels: expected ${scores.length} elements (one per score) but got ${labels.length}`);
  if (users.length !== scores.length) throw new RangeError(`users: expected ${scores.length} elements (one per score) but got ${users.length}`);
  checkScores("scores", scores);
  checkLabels("labels", labels);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < users.length; i++) {
    const u = users[i]!;
    let g = groups.get(u);
    if (!g) groups.set(u, (g = []));
    g.push(i);
  }
  let weighted = 0;
  let impressions = 0;
  let counted = 0;
  for (const idx of groups.values()) {
    const a = aucOf(idx, scores, labels);
    if (Number.isNaN(a)) continue;
    weighted += a * idx.length;
    impressions += idx.length;
    counted++;
  }
  return { gauc: impressions > 0 ? weighted / impressions : NaN, users: counted, impressions };
}

/** Mean binary cross-entropy of probabilities, clipped to [eps, 1 - eps] as scikit-learn does (eps = 1e-15). */
export function logloss(probabilities: Scores, labels: Labels, eps = 1e-15): number {
  if (probabilities.length !== labels.length) throw new RangeError(`labels: expected ${probabilities.length} elements (one per probability) but got ${labels.length}`);
  checkLabels("labels", labels);
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`probabilities[${i}]: expected a number in [0, 1] but got ${p}`);
    const q = Math.min(Math.max(p, eps), 1 - eps);
    sum -= labels[i] === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return probabilities.length > 0 ? sum / probabilities.length : NaN;
}
