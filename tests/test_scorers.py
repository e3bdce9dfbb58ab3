"""genrekit.inference.scorers: the Scorer protocol and the scorers that implement it."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.features.windows import Window
from genrekit.inference import ClassicalScorer, NetworkScorer, Scorer, TorchScorer, load_model


def windows_of(frames: list[int], bands: int = 4) -> list[Window]:
    rng = np.random.default_rng(0)
    return [Window(0.0, float(n), rng.normal(size=(bands, n)).astype(np.float32)) for n in frames]


def linear(batch: np.ndarray) -> np.ndarray:
    """Logits of 3 genres from clips ``[n, bands, frames]``: a fixed linear map of the clip's band means."""
    return batch.mean(axis=2)[:, :3] * np.array([1.0, -2.0, 0.5], dtype=np.float32)


def test_every_scorer_declares_the_protocol(coarse_run, coarse_model):
    from sklearn.dummy import DummyClassifier

    classical = ClassicalScorer(DummyClassifier().fit(np.zeros((2, 1)), [0, 1]), 3, lambda f: f.mean(axis=1)[None])
    scorers = [coarse_model.scorer, load_model(coarse_run, backend="onnx").scorer, classical,
               NetworkScorer(linear, 5, 5)]
    for scorer in scorers:
        assert isinstance(scorer, Scorer), type(scorer)
        assert isinstance(scorer.batch_size, int) and isinstance(scorer.in_workers, bool)
    assert isinstance(coarse_model.scorer, TorchScorer) and not coarse_model.scorer.in_workers
    assert load_model().scorer.in_workers  # the bundled v2's musicnn asks to be scored in the workers
    assert classical.frames is classical.hop is None


def test_a_network_scorer_cuts_windows_into_clips_whatever_the_batch():
    found = windows_of([12, 3, 20])
    whole = NetworkScorer(linear, frames=5, hop=5, batch_size=256)
    assert [whole.clip_starts(w).tolist() for w in found] == [[0, 5], [0], [0, 5, 10, 15]]
    scored = whole(found)
    assert [s.shape for s in scored] == [(2, 3), (1, 3), (4, 3)]
    for probabilities in scored:
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
    in_threes = NetworkScorer(linear, frames=5, hop=5, batch_size=3)(found)
    for a, b in zip(scored, in_threes):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert whole([]) == []


def test_a_classical_scorer_scores_each_window_as_one_clip():
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0], [0.1], [1.0], [1.1]])
    pipeline = LogisticRegression().fit(x, [0, 0, 2, 2])  # genre 1 never seen in training
    scorer = ClassicalScorer(pipeline, 3, lambda features: features.mean(axis=0)[:, None])
    found = windows_of([6, 2], bands=1)
    assert [scorer.clip_starts(w).tolist() for w in found] == [[0], [0]]
    for window, probabilities in zip(found, scorer(found)):
        assert probabilities.shape == (1, 3) and probabilities[0, 1] == 0.0
        expected = pipeline.predict_proba(window.features.mean(axis=0)[:, None]).mean(axis=0)
        np.testing.assert_allclose(probabilities[0, [0, 2]], expected, atol=1e-6)
    assert scorer.frames is None and not scorer.in_workers


@pytest.mark.parametrize("rule", ["mean", "vote"])
def test_the_rule_is_the_classifiers_not_the_scorers(coarse_model, rule):
    """One scorer serves any rule (``--aggregation``): the rule lives on the Classifier."""
    from genrekit.inference import Classifier

    other = Classifier(coarse_model.scorer, coarse_model.genres, coarse_model.spec, coarse_model.model_id, rule=rule)
    assert other.rule == rule and not hasattr(coarse_model.scorer, "rule")
