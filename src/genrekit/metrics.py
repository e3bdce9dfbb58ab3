"""Metrics over runs and folds, with bootstrap confidence intervals.

Senac et al. 2017 (sec. 4.2) report 95 % confidence intervals obtained by bootstrap; genrekit
does the same for every system: the test decisions of all runs (or folds) are pooled, one
0/1 "correct" value per (run, test track), and their mean is resampled with replacement.
For k-fold cross-validation every track is tested once, so this is a bootstrap over tracks;
for repeated holdout a track may appear in several runs, and the interval reflects the pool.
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import ConfigError

__all__ = ["bootstrap_ci", "summarize", "classification", "confusion_matrix", "recall", "BOOTSTRAP_RESAMPLES"]

#: Resamples of every bootstrap interval.
BOOTSTRAP_RESAMPLES = 2000


def bootstrap_ci(correct: np.ndarray, level: float = 0.95, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0, groups: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of a mean of 0/1 values (an accuracy).

    Parameters
    ----------
    correct : np.ndarray [shape=(n,)]
        1 where a decision was right, 0 where wrong (any values: the mean is bootstrapped).
    level : float
        Coverage, 0.95 for a 95 % interval.
    resamples : int
    seed : int
        The interval is deterministic for a seed.
    groups : np.ndarray [shape=(n,)], optional
        A label per value (the track a decision is about): whole groups are resampled (a cluster
        bootstrap), so the decisions of several runs on one track count as one track, not as many.

    Returns
    -------
    (low, high) : tuple of float
    """
    values = np.asarray(correct, dtype=np.float64).ravel()
    if values.size == 0:
        raise ConfigError("bootstrap_ci needs at least one value")
    if not 0 < level < 1:
        raise ConfigError(f"level must be between 0 and 1, got {level}")
    rng = np.random.default_rng(seed)
    if groups is None:
        means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    else:
        _, which = np.unique(np.asarray(groups).ravel(), return_inverse=True)
        if which.size != values.size:
            raise ConfigError(f"bootstrap_ci: {which.size} group labels for {values.size} values")
        sums, counts = np.bincount(which, weights=values), np.bincount(which).astype(np.float64)
        drawn = rng.integers(0, sums.size, size=(resamples, sums.size))
        means = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def summarize(per_run: list[float]) -> dict:
    """``{"mean", "std", "runs"}`` of per-run values (std with ``ddof=1``; 0 for one run)."""
    values = np.asarray(per_run, dtype=np.float64)
    if values.size == 0:
        raise ConfigError("summarize needs at least one run")
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
            "runs": [float(v) for v in values]}


def recall(confusion: np.ndarray) -> list[float | None]:
    """Per-class recall from a ``[true][predicted]`` confusion matrix (None where a class has no tracks)."""
    confusion = np.asarray(confusion, dtype=np.float64)
    support = confusion.sum(axis=1)
    return [float(confusion[i, i] / support[i]) if support[i] else None for i in range(len(support))]


def confusion_matrix(labels: np.ndarray, decisions: np.ndarray, n_classes: int) -> np.ndarray:
    """Track counts ``[true][predicted]``.

    Parameters
    ----------
    labels, decisions : np.ndarray [shape=(n_tracks,)], int
        True and decided class of every track.
    n_classes : int

    Returns
    -------
    np.ndarray [shape=(n_classes, n_classes)], int64
    """
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (np.asarray(labels, dtype=np.int64), np.asarray(decisions, dtype=np.int64)), 1)
    return confusion


def classification(labels: np.ndarray, decisions: np.ndarray, n_classes: int) -> dict:
    """The metrics of a set of decisions: what training, the protocols and the report all count.

    Parameters
    ----------
    labels, decisions : np.ndarray [shape=(n_tracks,)], int
        True and decided class of every track.
    n_classes : int

    Returns
    -------
    dict
        ``accuracy`` (float), ``correct`` (``[n_tracks]`` float64, 1 where right: what
        :func:`bootstrap_ci` resamples), ``confusion`` (:func:`confusion_matrix`) and ``recall``
        (:func:`recall`, one value or None per class).
    """
    correct = (np.asarray(decisions) == np.asarray(labels)).astype(np.float64)
    confusion = confusion_matrix(labels, decisions, n_classes)
    return {"accuracy": float(correct.mean()) if correct.size else float("nan"), "correct": correct,
            "confusion": confusion, "recall": recall(confusion)}
