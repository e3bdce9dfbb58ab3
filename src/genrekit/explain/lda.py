"""How separable the genres are in a representation: Dong 2018's LDA view (Fig. 5), measured.

Dong 2018, Results: the 3 s test segments are fed to the network, the last hidden layer's
activations are projected on the first three directions of a linear discriminant analysis
fitted on the *training* data, and "most testing data points become linearly separable ...
In contrast, the testing data points are much less separable when raw mel-spectrogram is used."

:func:`lda_view` makes that projection for any representation and puts a number on the
claim: a multinomial logistic regression is fitted on the training points in the 3-D LDA
space and its accuracy on the test points is the *separability* (chance: 1 / n_genres).
The accuracy of the full LDA classifier (all discriminant directions) is given beside it.

Representations with more dimensions than a few hundred (a raw 64 x 256 log-mel segment has
16,384) are first reduced by a PCA fitted on the training points (``max_dims``): LDA's
within-class scatter is singular when the dimensions outnumber the points, and the
projection would then separate the training points perfectly and tell nothing about the test.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit.errors import ConfigError
from genrekit.plotting import new_figure, save_png

__all__ = ["LdaView", "lda_view", "plot_lda"]


@dataclass
class LdaView:
    """A representation projected on its first LDA directions.

    Attributes
    ----------
    name : str
        What was projected (``"last hidden layer"``, ``"raw log-mel"``).
    train, test : np.ndarray [shape=(n, n_components)]
        Projected points.
    train_labels, test_labels : np.ndarray [shape=(n,)], int
    separability : float
        Test accuracy of a logistic regression fitted on the projected training points.
    lda_accuracy : float
        Test accuracy of the LDA classifier using all its directions.
    dims : int
        Dimensions of the representation.
    pca_dims : int or None
        Dimensions kept by the PCA before the LDA (``None``: no PCA).
    """

    name: str
    train: np.ndarray
    test: np.ndarray
    train_labels: np.ndarray
    test_labels: np.ndarray
    separability: float
    lda_accuracy: float
    dims: int
    pca_dims: int | None

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Plain arrays for ``np.savez``, keys prefixed."""
        return {f"{prefix}.{k}": np.asarray(v) for k, v in {
            "train": self.train, "test": self.test, "train_labels": self.train_labels,
            "test_labels": self.test_labels, "separability": self.separability, "lda_accuracy": self.lda_accuracy,
            "dims": self.dims, "pca_dims": -1 if self.pca_dims is None else self.pca_dims}.items()}


def lda_view(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray, *,
             name: str = "", n_components: int = 3, max_dims: int = 256, seed: int = 0) -> LdaView:
    """Fit an LDA on training points, project the test points, measure their separability.

    Parameters
    ----------
    train : np.ndarray [shape=(n_train, ...)]
        Training points; trailing axes are flattened (a segment ``[bands, frames]`` becomes one vector).
    train_labels : np.ndarray [shape=(n_train,)], int
    test : np.ndarray [shape=(n_test, ...)]
    test_labels : np.ndarray [shape=(n_test,)], int
    name : str
    n_components : int
        LDA directions kept (at most ``n_classes - 1``).
    max_dims : int
        Reduce wider representations with a PCA fitted on ``train`` to this many dimensions.
    seed : int

    Returns
    -------
    LdaView
    """
    from sklearn.decomposition import PCA
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression

    train = np.asarray(train, dtype=np.float64).reshape(len(train), -1)
    test = np.asarray(test, dtype=np.float64).reshape(len(test), -1)
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if len(train) != len(train_labels) or len(test) != len(test_labels) or train.shape[1] != test.shape[1]:
        raise ConfigError(f"LDA needs matching points and labels: train {train.shape} / {train_labels.shape}, "
                          f"test {test.shape} / {test_labels.shape}")
    classes = np.unique(train_labels)
    if len(classes) < 2 or len(test) == 0:
        raise ConfigError("an LDA view needs training points of at least 2 genres and some test points")
    dims = train.shape[1]
    pca_dims = None
    if dims > max_dims:
        pca_dims = min(max_dims, len(train) - 1)
        pca = PCA(pca_dims, random_state=seed).fit(train)
        train, test = pca.transform(train), pca.transform(test)
    components = min(n_components, len(classes) - 1, train.shape[1])
    lda = LinearDiscriminantAnalysis(n_components=components).fit(train, train_labels)
    train_points, test_points = lda.transform(train), lda.transform(test)
    classifier = LogisticRegression(max_iter=2000).fit(train_points, train_labels)
    return LdaView(name, train_points.astype(np.float32), test_points.astype(np.float32), train_labels, test_labels,
                   float(classifier.score(test_points, test_labels)), float(lda.score(test, test_labels)), dims,
                   pca_dims)


def plot_lda(views: Sequence[LdaView], genres: Sequence[str], path: str | os.PathLike, *, title: str = "",
             max_points: int = 2000, seed: int = 0) -> Path:
    """Draw test points on the first three LDA directions, one 3-D panel per view, as a PNG.

    Parameters
    ----------
    views : sequence of LdaView
        Drawn left to right (e.g. the raw log-mel, then the last hidden layer).
    genres : sequence of str
        Names of the label values.
    path : path-like
    title : str
    max_points : int
        At most this many test points per panel (a random subset; the numbers use all).
    seed : int

    Returns
    -------
    pathlib.Path
    """
    colours = [f"C{i}" for i in range(10)] + ["black", "grey"]
    figure = new_figure(6.0 * len(views), 6.0)
    rng = np.random.default_rng(seed)
    for i, view in enumerate(views):
        axes = figure.add_subplot(1, len(views), i + 1, projection="3d" if view.test.shape[1] >= 3 else None)
        shown = np.arange(len(view.test))
        if len(shown) > max_points:
            shown = np.sort(rng.choice(shown, max_points, replace=False))
        for label in np.unique(view.test_labels):
            points = view.test[shown][view.test_labels[shown] == label]
            name = genres[label] if 0 <= label < len(genres) else str(label)
            coordinates = points[:, :3].T if points.shape[1] > 1 else (points[:, 0], np.zeros(len(points)))
            axes.scatter(*coordinates, s=6, color=colours[label % len(colours)], label=name, alpha=0.7)
        reduced = f", PCA {view.dims}->{view.pca_dims}" if view.pca_dims else f", {view.dims} dims"
        axes.set_title(f"{view.name}{reduced}\nseparability {view.separability:.1%} "
                       f"(LDA classifier {view.lda_accuracy:.1%}, {len(view.test)} test points)", fontsize=10)
        for set_label, axis in zip(("set_xlabel", "set_ylabel", "set_zlabel"), range(3)):
            if hasattr(axes, set_label) and axis < view.test.shape[1]:
                getattr(axes, set_label)(f"LD{axis + 1}")
    figure.axes[-1].legend(loc="upper right", fontsize=8, markerscale=2)
    figure.suptitle(title or "test points on the first three LDA directions (fitted on training points)")
    return save_png(figure, path)
