"""Writes test/fixtures/metrics/cases.json: AUC and log-loss from scikit-learn (and GAUC from
per-user scikit-learn AUCs) on seeded random cases with ties, for test/metrics.test.ts.

    /usr/bin/python3 python/make_metric_fixtures.py
"""
import json
import os

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def case(rng, n, users, tie_levels):
    scores = rng.integers(0, tie_levels, n) / tie_levels if tie_levels else rng.random(n)
    labels = (rng.random(n) < 0.3 + 0.4 * scores).astype(int)
    user = rng.integers(0, users, n)
    per_user = []
    weights = []
    for u in np.unique(user):
        m = user == u
        if len(np.unique(labels[m])) < 2:
            continue
        per_user.append(roc_auc_score(labels[m], scores[m]))
        weights.append(m.sum())
    probs = np.clip(scores, 0, 1)
    return {
        "scores": scores.tolist(), "labels": labels.tolist(), "users": user.tolist(),
        "auc": float(roc_auc_score(labels, scores)),
        "gauc": float(np.dot(per_user, weights) / np.sum(weights)), "gaucUsers": len(per_user),
        "logloss": float(log_loss(labels, probs, eps=1e-15, labels=[0, 1])),
    }


def main():
    rng = np.random.default_rng(7)
    cases = [case(rng, n, u, t) for n, u, t in [(50, 5, 0), (400, 20, 10), (1000, 50, 3), (2000, 100, 0), (300, 300, 5)]]
    out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "metrics", "cases.json")
    with open(out, "w") as f:
        json.dump(cases, f)
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
