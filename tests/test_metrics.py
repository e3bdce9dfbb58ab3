"""genrekit.metrics: bootstrap intervals on known cases, summaries, recall."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import ConfigError
from genrekit import metrics


def test_bootstrap_ci_matches_the_binomial_normal_approximation():
    correct = np.r_[np.ones(700), np.zeros(300)]  # accuracy 0.7 on 1000 tracks
    low, high = metrics.bootstrap_ci(correct, seed=1)
    half_width = 1.96 * np.sqrt(0.7 * 0.3 / 1000)  # 0.0284
    assert low < 0.7 < high
    assert low == pytest.approx(0.7 - half_width, abs=0.006)
    assert high == pytest.approx(0.7 + half_width, abs=0.006)


def test_bootstrap_ci_degenerate_and_deterministic():
    assert metrics.bootstrap_ci(np.ones(50)) == (1.0, 1.0)
    x = np.random.default_rng(0).integers(0, 2, 200)
    assert metrics.bootstrap_ci(x, seed=3) == metrics.bootstrap_ci(x, seed=3)
    narrow = metrics.bootstrap_ci(x, level=0.5)
    wide = metrics.bootstrap_ci(x, level=0.99)
    assert wide[0] < narrow[0] and narrow[1] < wide[1]
    with pytest.raises(ConfigError):
        metrics.bootstrap_ci(np.array([]))


def test_runs_on_the_same_tracks_count_once_in_a_cluster_bootstrap():
    """Three identical runs on 290 tracks: resampled per track, the interval is that of 290 decisions, not of
    870 (pooled, it is sqrt(3) narrower)."""
    one = np.r_[np.ones(142), np.zeros(148)]  # 49 % of 290 tracks
    ids = np.arange(290)
    single = metrics.bootstrap_ci(one, seed=2)
    clustered = metrics.bootstrap_ci(np.tile(one, 3), seed=2, groups=np.tile(ids, 3))
    pooled = metrics.bootstrap_ci(np.tile(one, 3), seed=2)
    width = lambda ci: ci[1] - ci[0]  # noqa: E731
    assert width(clustered) == pytest.approx(width(single), rel=0.15)
    assert width(pooled) == pytest.approx(width(single) / np.sqrt(3), rel=0.15)
    # different tracks in each run (another split): as many groups as decisions, the plain bootstrap's width
    assert width(metrics.bootstrap_ci(np.tile(one, 3), seed=2, groups=np.arange(870))) == \
        pytest.approx(width(pooled), rel=0.15)
    with pytest.raises(ConfigError, match="group labels"):
        metrics.bootstrap_ci(one, groups=ids[:10])


def test_summarize_and_recall():
    s = metrics.summarize([0.8, 0.9])
    assert s["mean"] == pytest.approx(0.85) and s["std"] == pytest.approx(np.std([0.8, 0.9], ddof=1))
    assert metrics.summarize([0.5])["std"] == 0.0
    assert metrics.recall([[3, 1], [0, 0]]) == [0.75, None]


def test_classification_counts_accuracy_confusion_and_recall():
    from genrekit.metrics import classification

    scores = classification(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 4)
    assert scores["accuracy"] == 0.5 and scores["correct"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert scores["confusion"].tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert scores["recall"] == [0.5, 1.0, 0.0, None]  # class 3 has no tracks


def test_confusion_counts_true_by_predicted():
    matrix = metrics.confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 4)
    assert matrix.dtype == np.int64 and matrix.shape == (4, 4)
    assert matrix.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert metrics.recall(matrix) == [0.5, 1.0, 2 / 3, None]
