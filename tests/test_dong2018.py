"""genrekit.models.dong2018: Dong's 2-conv CNN size, shapes, fixed clip length, L2 penalty, defaults."""

from __future__ import annotations

import pytest
import torch

from genrekit import models
from genrekit.errors import ConfigError
from genrekit.models.dong2018 import DongCNN


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_count_of_the_papers_layer_list():
    # conv 64 x 3x3: 640; conv 64 x 3x5 on 64: 61,504; dense 64*14*14 -> 32: 401,440; 32 -> 10: 330.
    assert n_params(models.build("dong2018")) == 463_914


def test_shapes_at_64_x_256_and_another_segment_length():
    torch.manual_seed(0)
    net = models.build("dong2018")
    assert net(torch.randn(2, 64, 256)).shape == (2, 10)
    shorter = DongCNN(n_frames=128, n_classes=4)  # 62x126 -> 31x31 -> 29x27 -> 14x6
    assert shorter.head.layers[0].in_features == 64 * 14 * 6
    assert shorter(torch.randn(3, 64, 128)).shape == (3, 4)
    with pytest.raises(ConfigError, match=r"\[batch, 64 bands, 128 frames\]"):
        shorter(torch.randn(1, 64, 256))
    with pytest.raises(ConfigError, match="too small"):
        DongCNN(n_frames=30)


def test_regularization_is_the_authors_keras_l2():
    net = DongCNN()
    expected = (0.01 * net.block1.conv.weight.pow(2).sum() + 0.01 * net.block2.conv.weight.pow(2).sum()
                + 0.02 * net.head.layers[0].weight.pow(2).sum())
    torch.testing.assert_close(net.regularization(), expected)
    assert net.regularization().dim() == 0


def test_training_defaults():
    info = models.info("dong2018")
    assert (info.features, info.n_bands, info.n_frames) == ("dong2018", 64, 256)
    assert info.optimizer["name"] == "sgd"
    assert (info.sampling, info.aggregation) == ("random_crop", "mean")
    assert info.patience is not None and info.patience > 0
    assert "463,914" in info.notes
