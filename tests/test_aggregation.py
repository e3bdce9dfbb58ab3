"""genrekit.aggregation on hand-made probability arrays, ties included."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit import aggregation
from genrekit.errors import ConfigError

P = np.array([[0.6, 0.3, 0.1],
              [0.1, 0.5, 0.4],
              [0.2, 0.45, 0.35],
              [0.9, 0.05, 0.05]])


def test_sum_and_mean_decide_by_total_probability():
    np.testing.assert_allclose(aggregation.track_scores(P, "sum"), [1.8, 1.3, 0.9])
    np.testing.assert_allclose(aggregation.track_scores(P, "mean"), [0.45, 0.325, 0.225])
    assert aggregation.decide(P, "sum") == aggregation.decide(P, "mean") == 0


def test_vote_counts_clips_not_probability():
    # Class 1 wins two clips narrowly; class 0 wins two clips, one hugely: 2-2 tie on votes,
    # broken by summed probability (class 0: 1.8 > class 1: 1.3).
    assert aggregation.decide(P, "vote") == 0
    many_small = np.array([[0.34, 0.33, 0.33]] * 3 + [[0.0, 1.0, 0.0]] * 2)
    assert aggregation.decide(many_small, "sum") == 1      # 1.02 vs 2.99
    assert aggregation.decide(many_small, "vote") == 0     # 3 votes vs 2


def test_vote_tie_goes_to_the_larger_summed_probability():
    tie = np.array([[0.5, 0.4, 0.1], [0.1, 0.8, 0.1]])
    assert aggregation.decide(tie, "vote") == 1            # 1-1 votes, 0.6 vs 1.2 summed
    scores = aggregation.vote(tie)
    assert scores[1] > scores[0] > scores[2] and scores[1] < 2  # tie-break never outweighs a vote


def test_fusion1_averages_all_clips_of_both_models():
    a = np.array([[0.8, 0.2], [0.8, 0.2]])
    b = np.array([[0.1, 0.9], [0.2, 0.8]])
    # mean over 4 vectors: class 0 = (0.8+0.8+0.1+0.2)/4 = 0.475 < 0.525
    assert aggregation.fusion1(a, b) == 1


def test_fusion2_averages_per_clip_then_votes():
    a = np.array([[0.9, 0.1], [0.9, 0.1], [0.0, 1.0]])
    b = np.array([[0.3, 0.7], [0.3, 0.7], [0.0, 1.0]])
    # per clip: [0.6, 0.4], [0.6, 0.4], [0.0, 1.0] -> votes 2 for class 0, 1 for class 1
    assert aggregation.fusion2(a, b) == 0
    assert aggregation.fusion1(a, b) == 1  # 1.4/6... class 0 = 2.4/6 = 0.4 < 0.6
    with pytest.raises(ConfigError, match="same clips"):
        aggregation.fusion2(a, b[:2])


def test_decide_tracks_and_bad_input():
    assert aggregation.decide_tracks([P, P[::-1] * [0, 1, 0]], "sum").tolist() == [0, 1]
    with pytest.raises(ConfigError):
        aggregation.decide(np.zeros((0, 3)))
    with pytest.raises(ConfigError, match="unknown aggregation"):
        aggregation.decide(P, "median")


def test_geomean_is_the_softmax_of_the_mean_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 10)) * 3
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    mean = logits.mean(axis=0)
    np.testing.assert_allclose(aggregation.track_scores(P, "geomean"), np.exp(mean) / np.exp(mean).sum(), rtol=1e-9)
    # a clip's vote is not capped at 1 as in "mean": one clip sure that a genre is wrong can overrule three
    P2 = np.array([[1e-6, 1 - 1e-6], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    assert aggregation.decide(P2, "mean") == 0 and aggregation.decide(P2, "geomean") == 1
    assert aggregation.track_scores(np.array([[1.0, 0.0]]), "geomean")[0] == pytest.approx(1.0)
