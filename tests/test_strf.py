"""genrekit.explain.strf: 10 %-overlap segments, Lasso recovering planted filters, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from genrekit.errors import ConfigError, FeatureError
from genrekit.explain import strf


def test_segments_overlap_by_a_tenth():
    features = np.arange(4 * 300, dtype=np.float32).reshape(4, 300)
    cut = strf.segments(features, 100)
    assert cut.shape == (3, 4, 100)  # hop 90: starts 0, 90, 180
    np.testing.assert_array_equal(cut[1], features[:, 90:190])
    with pytest.raises(FeatureError, match="fewer than one clip"):
        strf.segments(features[:, :50], 100, name="short.wav")
    with pytest.raises(ConfigError):
        strf.segments(features, 100, overlap=1.0)


def planted(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 12, 8))
    w = np.zeros((12, 8))
    w[4:7, 2:5] = [[1.0, -1.0, 0.5], [2.0, 0.0, -1.0], [0.5, 1.0, -0.5]]
    return x, w, rng


def test_fit_filter_recovers_a_planted_linear_filter():
    x, w, rng = planted()
    y = (x * w).sum(axis=(1, 2)) + 0.1 * rng.standard_normal(len(x))
    fit = strf.fit_filter(x.reshape(len(x), -1), y, groups=np.repeat(np.arange(40), 10))
    assert np.corrcoef(fit.coef, w.ravel())[0, 1] > 0.99
    assert fit.r2 > 0.95 and fit.r2_fit > 0.95 and fit.alpha > 0


def test_fit_filter_on_a_rectified_unit_still_finds_the_filter_but_says_the_fit_is_worse():
    x, w, rng = planted(seed=1)
    y = np.maximum((x * w).sum(axis=(1, 2)), 0) + 0.1 * rng.standard_normal(len(x))
    fit = strf.fit_filter(x.reshape(len(x), -1), y)
    assert np.corrcoef(fit.coef, w.ravel())[0, 1] > 0.9
    assert 0.3 < fit.r2 < 0.9


def test_fit_filter_of_a_constant_unit_and_bad_shapes():
    x, _, _ = planted(n=60)
    fit = strf.fit_filter(x.reshape(60, -1), np.zeros(60))
    assert np.isnan(fit.r2) and not fit.coef.any()
    with pytest.raises(ConfigError):
        strf.fit_filter(x, np.zeros(60))


class PlantedNet(nn.Module):
    """One linear 2-D convolution whose first kernel is a known "STRF", then a classifier."""

    n_bands = 16

    def __init__(self, kernel: np.ndarray, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, kernel.shape, padding=padding)
        with torch.no_grad():
            self.conv.weight[0, 0] = torch.as_tensor(kernel)
            self.conv.weight[1, 0] = torch.as_tensor(kernel[::-1].copy())
            self.conv.bias.zero_()
        self.out = nn.Linear(2, 3)

    def forward(self, x):
        return self.out(self.conv(x.unsqueeze(1)).mean(dim=(2, 3)))


def test_learned_filters_recover_the_planted_kernel_of_a_network_unit():
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((5, 4)).astype(np.float32) * (rng.random((5, 4)) > 0.4)
    net = PlantedNet(kernel).eval()
    clips = rng.standard_normal((300, 16, 12)).astype(np.float32)
    result = strf.learned_filters(net, clips, "conv", channels=[0, 1], groups=np.repeat(np.arange(30), 10))
    assert result.filters.shape == (2, 5, 4) and result.field.size == (5, 4)
    assert np.corrcoef(result.filters[0].ravel(), kernel.ravel())[0, 1] > 0.99
    assert np.corrcoef(result.filters[1].ravel(), kernel[::-1].ravel())[0, 1] > 0.99
    assert (result.r2 > 0.99).all()
    arrays = result.arrays()
    assert arrays["conv.filters"].shape == (2, 5, 4) and arrays["conv.r2"].shape == (2,)


def test_learned_filters_errors_name_the_layers_and_channels():
    net = PlantedNet(np.ones((5, 4), dtype=np.float32)).eval()
    clips = np.random.default_rng(0).standard_normal((40, 16, 12)).astype(np.float32)
    with pytest.raises(ConfigError, match="choose from conv"):
        strf.learned_filters(net, clips, "conv9")
    with pytest.raises(ConfigError, match="channels 0-1"):
        strf.learned_filters(net, clips, "conv", channels=[5])
    padded = PlantedNet(np.ones((5, 4), dtype=np.float32), padding=3).eval()
    with pytest.raises(ConfigError, match="fits inside"):
        strf.learned_filters(padded, clips[:, :4], "conv")


def test_plot_filters_writes_a_grid(tmp_path):
    rng = np.random.default_rng(0)
    net = PlantedNet(rng.standard_normal((5, 4)).astype(np.float32)).eval()
    result = strf.learned_filters(net, rng.standard_normal((120, 16, 12)).astype(np.float32), "conv", n_units=2)
    path = strf.plot_filters([result, result], tmp_path / "f.png")
    from PIL import Image

    with Image.open(path) as image:
        assert abs(image.size[0] - 80 * (1.9 * 2 + 0.6)) <= 1 and abs(image.size[1] - 80 * (2.4 * 2 + 0.6)) <= 1
    assert isinstance(path, Path)
