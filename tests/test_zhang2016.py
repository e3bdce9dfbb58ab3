"""genrekit.models.zhang2016: nnet1 / nnet2 sizes, shortcut wiring, shapes and training defaults."""

from __future__ import annotations

import pytest
import torch

from genrekit import models
from genrekit.errors import ConfigError
from genrekit.models.zhang2016 import ZhangNNet1, ZhangNNet2


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_match_yang_and_zhang_table_2():
    assert n_params(models.build("zhang2016_nnet2")) == 1_250_928
    assert n_params(models.build("zhang2016_nnet1")) == 464_906
    # The re-implementations' nnet1 with dense 300/150, available as an option.
    assert n_params(models.build("zhang2016_nnet1", hidden=(300, 150))) == 660_336


@pytest.mark.parametrize("name", ["zhang2016_nnet1", "zhang2016_nnet2"])
def test_shapes_for_513_bins_and_other_band_counts(name):
    torch.manual_seed(0)
    assert models.build(name)(torch.randn(2, 513, 128)).shape == (2, 10)
    net = models.build(name, n_bands=128, n_classes=3)
    assert net(torch.randn(2, 128, 128)).shape == (2, 3)
    assert net(torch.randn(1, 128, 64)).shape == (1, 3)


def test_nnet2_adds_conv1_to_conv3():
    torch.manual_seed(0)
    net = ZhangNNet2(n_bands=20).eval()
    x = torch.randn(2, 20, 16)
    h1 = net.conv1(x)
    total = h1 + net.conv3(net.conv2(h1))
    expected = net.head(torch.cat([total.amax(-1), total.mean(-1)], dim=1))
    torch.testing.assert_close(net(x), expected)
    assert [layer.out_features for layer in net.head.layers] == [300, 150, 10]
    assert net.head.dropout == (0.2, 0.2, 0.2)


def test_nnet1_time_axis_and_shortest_clip():
    net = ZhangNNet1(n_bands=20).eval()
    assert net(torch.randn(1, 20, 25)).shape == (1, 10)  # 25 -> 22 -> 11 -> 8 -> 4 -> 1 frame
    with pytest.raises(ConfigError, match=">= 25 frames"):
        net(torch.randn(1, 20, 24))
    with pytest.raises(ConfigError, match="at least 25 frames"):
        ZhangNNet1(n_frames=20)


@pytest.mark.parametrize("cls", [ZhangNNet1, ZhangNNet2])
def test_no_weight_penalty(cls):
    penalty = cls(n_bands=8).regularization()
    assert penalty.dim() == 0 and penalty.item() == 0.0


def test_training_defaults_follow_senac_who_reproduces_nnet2():
    for name in ("zhang2016_nnet1", "zhang2016_nnet2"):
        info = models.info(name)
        assert (info.features, info.n_bands, info.n_frames) == ("zhang2016", 513, 128)
        assert (info.batch_size, info.epochs, info.aggregation, info.sampling) == (20, 40, "vote", "fixed")
    assert "464,906" in models.info("zhang2016_nnet1").notes
