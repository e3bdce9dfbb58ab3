"""genrekit.explain.lda: separability is measured (high for separable data, near chance otherwise)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genrekit.errors import ConfigError
from genrekit.explain import lda


def clusters(n_per_class=60, n_classes=5, dims=20, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dims)) * 2
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return centres[labels] + spread * rng.standard_normal((len(labels), dims)), labels


def test_separable_classes_give_high_separability_and_noise_gives_chance():
    train, train_labels = clusters(seed=0)
    test, test_labels = clusters(seed=0, n_per_class=30)  # same centres, fresh noise
    test = test + 0.0
    view = lda.lda_view(train, train_labels, test, test_labels, name="separable")
    assert view.train.shape == (300, 3) and view.test.shape == (150, 3)
    assert view.separability > 0.95 and view.lda_accuracy > 0.95 and view.pca_dims is None
    rng = np.random.default_rng(1)
    noise = lda.lda_view(rng.standard_normal((300, 20)), train_labels, rng.standard_normal((150, 20)), test_labels)
    assert noise.separability < 0.4


def test_wide_inputs_are_reduced_by_pca_first():
    train, labels = clusters(n_per_class=20, dims=8, seed=2)
    wide = np.repeat(train, 50, axis=1).reshape(len(train), 20, 20)  # 400 dims, 100 points
    view = lda.lda_view(wide, labels, wide[:10], labels[:10], max_dims=30)
    assert view.dims == 400 and view.pca_dims == 30 and view.separability > 0.9


def test_two_classes_give_one_direction_and_bad_input_is_refused(tmp_path):
    train, labels = clusters(n_classes=2, seed=3)
    view = lda.lda_view(train, labels, train, labels)
    assert view.test.shape[1] == 1
    with pytest.raises(ConfigError):
        lda.lda_view(train, labels[:-1], train, labels)
    with pytest.raises(ConfigError, match="at least 2 genres"):
        lda.lda_view(train, np.zeros_like(labels), train, labels)
    path = lda.plot_lda([view], ["a", "b"], tmp_path / "one.png")
    with Image.open(path) as image:
        assert image.size == (480, 480)


def test_plot_lda_draws_one_panel_per_view(tmp_path):
    train, labels = clusters(seed=4)
    views = [lda.lda_view(train, labels, train, labels, name=n) for n in ("raw", "hidden")]
    path = lda.plot_lda(views, list("abcde"), tmp_path / "lda.png")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (960, 480)
    arrays = views[0].arrays("raw")
    assert arrays["raw.test"].shape == (300, 3) and float(arrays["raw.separability"]) > 0.9
