"""genrekit.models.wang: Wang's five-block 2-D CNN size, feature-map sizes, options and defaults."""

from __future__ import annotations

import pytest
import torch

from genrekit import models
from genrekit.errors import ConfigError
from genrekit.models.wang import WangCNN2d


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_count_of_the_chosen_reading():
    # convs 1,280 + 73,792 + 18,464 + 4,624 + 1,160; dense 8 * 4 * 20 -> 10: 6,410.
    assert n_params(models.build("wang_cnn2d")) == 105_730


def test_feature_map_heights_halve_as_the_text_says():
    net = WangCNN2d().eval()
    h = torch.zeros(1, 1, 128, 660)
    sizes = []
    for block in net.blocks:
        h = block(h)
        sizes.append(tuple(h.shape[1:]))
    assert sizes == [(128, 64, 330), (64, 32, 165), (32, 16, 82), (16, 8, 41), (8, 4, 20)]


def test_shapes_for_another_clip_length():
    torch.manual_seed(0)
    net = WangCNN2d(n_frames=330, n_classes=4)
    assert net.head.layers[0].in_features == 8 * 4 * 10
    assert net(torch.randn(2, 128, 330)).shape == (2, 4)
    with pytest.raises(ConfigError, match="330 frames"):
        net(torch.randn(2, 128, 660))
    with pytest.raises(ConfigError, match="too small"):
        WangCNN2d(n_bands=16)


def test_options_and_no_penalty():
    net = WangCNN2d(n_bands=32, n_frames=64, channels=(4, 8), hidden=(16,), block_dropout=True)
    assert [block.dropout for block in net.blocks] == [0.2, 0.2] and net.head.dropout == (0.0, 0.0)
    assert net(torch.randn(1, 32, 64)).shape == (1, 10)
    assert WangCNN2d(n_bands=32, n_frames=64).head.dropout == (0.2,)
    assert net.regularization().item() == 0.0


def test_training_defaults_are_the_papers():
    info = models.info("wang_cnn2d")
    assert (info.features, info.n_bands, info.n_frames) == ("wang", 128, 660)
    assert info.optimizer["name"] == "adam"
    assert (info.batch_size, info.epochs, info.aggregation) == (32, 100, "vote")
