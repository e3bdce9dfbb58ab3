"""Classical baselines of Wang (Table II): KNN, decision tree, random forest, SVM, logistic regression.

Each is a scikit-learn pipeline, standard scaling then the estimator, on summary vectors
(:mod:`genrekit.features.summary`): one vector per track, or per segment with a vote.
Wang gives no hyper-parameters; these are scikit-learn's defaults except where noted.
They are registered as ``kind="classical"`` models (:mod:`genrekit.models.registry`) and trained and
evaluated by the same engine as the networks (:func:`genrekit.training.train`), with the same metrics
and run directory. scikit-learn is imported when a pipeline is built, not with the registry.
"""

from __future__ import annotations

import numpy as np

from genrekit.errors import ConfigError
from genrekit.models.registry import ModelInfo, register

__all__ = ["BASELINES", "PAPER_ACCURACY", "names", "build", "summary_samples"]

#: Wang, Table II: accuracy on a 70/30 GTZAN holdout.
PAPER_ACCURACY = {"knn": 0.687, "decision_tree": 0.6273, "random_forest": 0.657, "svm": 0.6128,
                  "logistic_regression": 0.6831}


def _estimators(seed: int) -> dict:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier

    return {
        "knn": KNeighborsClassifier(n_neighbors=5),
        "decision_tree": DecisionTreeClassifier(random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1),
        # Platt scaling (sigmoid, fitted by 5-fold cross-validation) gives the SVM probabilities
        # for aggregation and reports; SVC(probability=True) is deprecated in scikit-learn 1.9.
        "svm": CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed), ensemble=False),
        "logistic_regression": LogisticRegression(max_iter=5000),
    }


BASELINES = ("knn", "decision_tree", "random_forest", "svm", "logistic_regression")


def names() -> list[str]:
    """The baseline names: knn, decision_tree, random_forest, svm, logistic_regression."""
    return list(BASELINES)


def build(name: str, seed: int = 0):
    """``StandardScaler`` + the estimator, unfitted (a scikit-learn ``Pipeline``)."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    estimators = _estimators(seed)
    if name not in estimators:
        raise ConfigError(f"unknown classical baseline {name!r}; choose one of {', '.join(BASELINES)}")
    return Pipeline([("scale", StandardScaler()), ("model", estimators[name])])


def summary_samples(values: np.ndarray, **_) -> np.ndarray:
    """The vectors a baseline reads from one track's features ``[rows, columns]``: the columns of a vector
    spec as they are (one sample per segment or 30 s window: the ``summary`` preset's 75 rows, the Kaggle
    table's 57, ``kaggle``), else one log-mel summary vector (``[1, n]``)."""
    from genrekit.datasets.feature_table import COLUMNS
    from genrekit.features.summary import feature_names, log_mel_summary

    if values.shape[0] in (len(feature_names()), len(COLUMNS)):  # one column per segment / window
        return values.T
    return log_mel_summary(values)[None]


def _info(name: str) -> ModelInfo:
    """Wang's baseline ``name``: summary vectors (or vectors derived from the log-mel when the data has no
    audio), one fit, a majority vote over a track's segments."""
    return ModelInfo(name=name, builder=lambda seed=0, **_: build(name, seed), paper="Wang, Table II (classical baseline)",
                     features="summary", coarse_features="coarse_mel", optimizer={}, batch_size=1, epochs=1,
                     sampling="fixed", aggregation="vote", patience=0, kind="classical", vectors=summary_samples)


for _name in BASELINES:
    register(_info(_name))
