"""Classical baselines of Wang (Table II): KNN, decision tree, random forest, SVM, logistic regression.

Each is a scikit-learn pipeline, standard scaling then the estimator, on summary vectors
(:mod:`genrekit.features.summary`): one vector per track, or per segment with a vote.
Wang gives no hyper-parameters; these are scikit-learn's defaults except where noted.
They are trained and evaluated by the same engine as the networks
(:func:`genrekit.training.train`), with the same metrics and run directory.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from genrekit.errors import ConfigError

__all__ = ["BASELINES", "PAPER_ACCURACY", "names", "build"]

#: Wang, Table II: accuracy on a 70/30 GTZAN holdout.
PAPER_ACCURACY = {"knn": 0.687, "decision_tree": 0.6273, "random_forest": 0.657, "svm": 0.6128,
                  "logistic_regression": 0.6831}


def _estimators(seed: int) -> dict:
    return {
        "knn": KNeighborsClassifier(n_neighbors=5),
        "decision_tree": DecisionTreeClassifier(random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1),
        # Platt scaling (sigmoid, fitted by 5-fold cross-validation) gives the SVM probabilities
        # for aggregation and reports; SVC(probability=True) is deprecated in scikit-learn 1.9.
        "svm": CalibratedClassifierCV(SVC(kernel="rbf", random_state=seed), ensemble=False),
        "logistic_regression": LogisticRegression(max_iter=5000),
    }


BASELINES = tuple(_estimators(0))


def names() -> list[str]:
    """The baseline names: knn, decision_tree, random_forest, svm, logistic_regression."""
    return list(BASELINES)


def build(name: str, seed: int = 0) -> Pipeline:
    """``StandardScaler`` + the estimator, unfitted."""
    estimators = _estimators(seed)
    if name not in estimators:
        raise ConfigError(f"unknown classical baseline {name!r}; choose one of {', '.join(BASELINES)}")
    return Pipeline([("scale", StandardScaler()), ("model", estimators[name])])
