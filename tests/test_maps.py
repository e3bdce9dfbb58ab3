"""genrekit.explain.maps and activations: every conv layer's output for a clip, tiled and drawn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genrekit import models
from genrekit.errors import ConfigError
from genrekit.explain import activations, maps


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return {name: models.build(name, n_bands=16, n_frames=40, n_classes=10).eval()
            for name in ("yang2019_net1", "yang2019_net2", "dong2018")}


def test_layer_names_in_forward_order(nets):
    assert activations.layer_names(nets["yang2019_net1"]) == ["input", "conv1", "conv2", "conv3", "conv4", "hidden"]
    assert activations.layer_names(nets["dong2018"]) == ["input", "block1", "block2", "hidden"]


def test_feature_maps_of_net1_and_net2(nets):
    clip = np.random.default_rng(0).standard_normal((16, 40)).astype(np.float32)
    one = maps.feature_maps(nets["yang2019_net1"], clip)
    assert list(one) == ["input", "conv1", "conv2", "conv3", "conv4"]
    assert one["input"].shape == (16, 40) and one["conv1"].shape == (256, 37) and one["conv4"].shape == (128, 37)
    two = maps.feature_maps(nets["yang2019_net2"], clip)
    # net2's sum is the sum of its three (ReLU) terms, so it is at least each of them.
    np.testing.assert_allclose(two["sum"], two["conv1"] + two["conv2"] + two["conv3"], rtol=1e-6)
    assert (two["sum"] >= two["conv3"] - 1e-6).all()
    dong = maps.feature_maps(nets["dong2018"], clip)
    assert dong["block1"].shape == (64, 7, 9)


def test_record_hidden_is_the_input_of_the_output_layer(nets):
    net = nets["dong2018"]
    clips = np.random.default_rng(1).standard_normal((5, 16, 40)).astype(np.float32)
    hidden = activations.record(net, clips, ["hidden"], batch_size=2)["hidden"]
    assert hidden.shape == (5, 32) and (hidden >= 0).all()
    logits = net.head.layers[-1](torch.as_tensor(hidden)).detach().numpy()
    np.testing.assert_allclose(logits, net(torch.as_tensor(clips)).detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="choose from input, block1, block2, hidden"):
        activations.record(net, clips, ["conv7"])
    with pytest.raises(ConfigError, match="n_clips >= 1"):
        activations.record(net, clips[:0], ["hidden"])


def test_tile_puts_channels_in_a_grid():
    image = maps.tile(np.ones((6, 3, 5)), n=16, columns=4)
    assert image.shape == (2 * 4 - 1, 4 * 6 - 1)
    assert np.isnan(image).sum() == image.size - 6 * 15


def test_plot_feature_maps_columns_side_by_side(nets, tmp_path):
    clip = np.random.default_rng(0).standard_normal((16, 40)).astype(np.float32)
    columns = {name: maps.feature_maps(nets[name], clip) for name in ("yang2019_net1", "yang2019_net2")}
    path = maps.plot_feature_maps(columns, tmp_path / "maps.png", hop_seconds=0.0775)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (960, int(80 * (2.0 * 5 + 0.6)))
    with pytest.raises(ConfigError):
        maps.plot_feature_maps({}, tmp_path / "none.png")
