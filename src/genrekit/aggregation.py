"""From clip probabilities to a track decision, for one model or two.

Each paper classifies short clips and decides per track:

- ``sum``: add the clips' probabilities, take the largest (Yang & Zhang 2019, sec. 4.2);
- ``mean``: average them, take the largest (Dong 2018, "Training & Prediction"); the same
  decision as ``sum``, with probabilities that stay in [0, 1];
- ``vote``: each clip votes for its most probable genre, the track takes the majority
  (Senac et al. 2017, sec. 4.3; Wang, sec. IV-A); ties are broken by the summed
  probability of the tied genres;
- ``geomean``: the normalised geometric mean of the clips' probabilities, i.e. the softmax of
  the clips' mean logits; with a linear head on pooled features (genrekit's musicnn transfer
  model) that is the head applied to the track's mean embedding;
- across two models (Senac et al. 2017, sec. 4.3 and figure 2): ``fusion1`` averages all
  clips' probabilities of both models and takes the largest; ``fusion2`` averages the two
  models per clip, decides per clip, and takes the majority vote.

All functions take ``np.ndarray [shape=(n_clips, n_classes)]`` of one track.
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import ConfigError

__all__ = ["RULES", "check_rule", "track_scores", "decide", "vote", "fusion1", "fusion2", "decide_tracks"]

#: The single-model rules.
RULES = ("sum", "mean", "vote", "geomean")

#: Probabilities below this are read as this in ``geomean`` (float32 softmax underflows to 0).
TINY = 1e-30


def check_rule(rule: str) -> str:
    """``rule`` if it is one of :data:`RULES`, else a ``ConfigError`` that lists them."""
    if rule not in RULES:
        raise ConfigError(f"unknown clip-to-track rule {rule!r}; choose one of {', '.join(RULES)}")
    return rule


def _check(probabilities: np.ndarray) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        raise ConfigError(f"expected clip probabilities of shape (n_clips >= 1, n_classes), got {probabilities.shape}")
    return probabilities


def vote(probabilities: np.ndarray) -> np.ndarray:
    """Majority vote of the clips, as a score per class.

    Returns
    -------
    np.ndarray [shape=(n_classes,)]
        Vote counts plus a tie-break term below one vote: the class's summed probability
        divided by ``n_clips + 1``. So the most voted class always wins, and among classes
        with equally many votes the one with the larger summed probability wins.
    """
    probabilities = _check(probabilities)
    n_clips, n_classes = probabilities.shape
    votes = np.bincount(probabilities.argmax(axis=1), minlength=n_classes).astype(np.float64)
    return votes + probabilities.sum(axis=0) / (n_clips + 1)


def track_scores(probabilities: np.ndarray, rule: str = "sum") -> np.ndarray:
    """A score per class for one track; its argmax is the decision.

    Parameters
    ----------
    probabilities : np.ndarray [shape=(n_clips, n_classes)]
    rule : {"sum", "mean", "vote", "geomean"}

    Returns
    -------
    np.ndarray [shape=(n_classes,)]
        ``sum``: summed probabilities; ``mean``: mean probabilities; ``vote``: see :func:`vote`;
        ``geomean``: ``exp(mean log p)`` normalised to sum to 1.
    """
    probabilities = _check(probabilities)
    if rule == "sum":
        return probabilities.sum(axis=0)
    if rule == "mean":
        return probabilities.mean(axis=0)
    if rule == "vote":
        return vote(probabilities)
    if rule == "geomean":
        log_mean = np.log(np.maximum(probabilities, TINY)).mean(axis=0)
        scores = np.exp(log_mean - log_mean.max())
        return scores / scores.sum()
    raise ConfigError(f"unknown aggregation rule {rule!r}; choose one of {', '.join(RULES)}")


def decide(probabilities: np.ndarray, rule: str = "sum") -> int:
    """The class index a track is given by ``rule``."""
    return int(np.argmax(track_scores(probabilities, rule)))


def fusion1(a: np.ndarray, b: np.ndarray) -> int:
    """Senac's FUSION1: average the ``2 x n_clips`` probability vectors of both models, take the largest."""
    a, b = _check(a), _check(b)
    return int(np.argmax(np.concatenate([a, b]).mean(axis=0)))


def fusion2(a: np.ndarray, b: np.ndarray) -> int:
    """Senac's FUSION2: average the two models per clip, decide per clip, majority vote."""
    a, b = _check(a), _check(b)
    if a.shape != b.shape:
        raise ConfigError(f"FUSION2 needs the same clips from both models, got shapes {a.shape} and {b.shape}")
    return int(np.argmax(vote((a + b) / 2.0)))


def decide_tracks(clip_probabilities: list[np.ndarray], rule: str = "sum") -> np.ndarray:
    """:func:`decide` for many tracks: ``np.ndarray [shape=(n_tracks,)], int64``."""
    return np.array([decide(p, rule) for p in clip_probabilities], dtype=np.int64)
