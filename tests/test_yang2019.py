"""genrekit.models.yang2019: Yang & Zhang 2019 net1 / net2 sizes, wiring, L2 penalty and training defaults."""

from __future__ import annotations

import pytest
import torch

from genrekit import models
from genrekit.models.yang2019 import YangNet1, YangNet2


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_are_the_papers_table_2():
    assert n_params(models.build("yang2019_net1")) == 1_001_162
    assert n_params(models.build("yang2019_net2")) == 857_322
    # Only conv1 depends on the band count (256 kernels x bands x 4).
    assert n_params(YangNet1(n_bands=128)) == 1_001_162 - 128 * 4 * 256


@pytest.mark.parametrize("cls", [YangNet1, YangNet2])
def test_shapes_for_the_papers_input_other_band_counts_and_lengths(cls):
    torch.manual_seed(0)
    assert cls()(torch.randn(2, 256, 128)).shape == (2, 10)
    net = cls(n_bands=128, n_classes=4)
    assert net(torch.randn(3, 128, 128)).shape == (3, 4)
    assert net(torch.randn(1, 128, 40)).shape == (1, 4)  # global pooling: any clip length


def _head_input(net, x):
    seen = {}
    handle = net.head.register_forward_hook(lambda module, args, out: seen.setdefault("x", args[0]))
    net(x)
    handle.remove()
    return seen["x"]


def test_net1_pools_each_convolution_once():
    torch.manual_seed(0)
    net = YangNet1(n_bands=32).eval()
    x = torch.randn(2, 32, 20)
    h1 = net.conv1(x)
    h2 = net.conv2(h1)
    expected = torch.cat([h1.amax(-1), h2.mean(-1), net.conv3(h2).amax(-1), net.conv4(h2).mean(-1)], dim=1)
    assert expected.shape == (2, 768)
    torch.testing.assert_close(_head_input(net, x), expected)


def test_net2_sums_three_convolutions_then_max_and_average_pools():
    torch.manual_seed(0)
    net = YangNet2(n_bands=32).eval()
    x = torch.randn(2, 32, 20)
    h1 = net.conv1(x)
    h2 = net.conv2(h1)
    total = h1 + h2 + net.conv3(h2)
    torch.testing.assert_close(_head_input(net, x), torch.cat([total.amax(-1), total.mean(-1)], dim=1))
    assert [layer.out_features for layer in net.head.layers] == [128, 32, 10]


@pytest.mark.parametrize("cls,later", [(YangNet1, ["conv2", "conv3", "conv4"]), (YangNet2, ["conv2", "conv3"])])
def test_regularization_is_keras_l2_on_conv_kernels_only(cls, later):
    net = cls(n_bands=16)
    expected = 0.02 * net.conv1.conv.weight.pow(2).sum()
    expected = expected + sum(0.01 * getattr(net, name).conv.weight.pow(2).sum() for name in later)
    penalty = net.regularization()
    assert penalty.dim() == 0
    torch.testing.assert_close(penalty, expected)
    torch.testing.assert_close(models.regularization(net), expected)
    penalty.backward()
    assert net.conv1.conv.bias.grad is None and net.head.layers[0].weight.grad is None
    torch.testing.assert_close(net.conv1.conv.weight.grad, 2 * 0.02 * net.conv1.conv.weight)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    net = YangNet1(n_bands=16)
    x = torch.randn(4, 16, 12)
    assert not torch.equal(net.train()(x), net(x))
    assert torch.equal(net.eval()(x), net(x))


def test_training_defaults_are_the_papers():
    for name in ("yang2019_net1", "yang2019_net2"):
        info = models.info(name)
        assert (info.features, info.n_bands, info.n_frames) == ("yang2019", 256, 128)
        assert info.optimizer == {"name": "adadelta", "lr": 1.0}
        assert (info.batch_size, info.sampling, info.aggregation) == (50, "fixed", "sum")
        assert info.epochs == 30 and "not given" in info.notes
        assert "sec. 3" in info.paper
