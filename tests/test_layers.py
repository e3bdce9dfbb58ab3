"""genrekit.models.layers: Keras padding, band-spanning convolutions, pooling, dense head, L2, input checks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genrekit.errors import ConfigError
from genrekit.models import layers


def test_same_padding_is_keras_one_before_two_after_for_width_4():
    assert layers.same_padding(4) == (1, 2)
    assert layers.same_padding(3) == (1, 1)
    # The frame a width-4 kernel's first tap reads at output t is t - 1 (one zero before).
    conv = layers.TimeConv(1, 1, 4, "same")
    with torch.no_grad():
        conv.conv.weight.zero_()
        conv.conv.weight[0, 0, 0] = 1.0
        conv.conv.bias.zero_()
    x = torch.arange(1.0, 7.0).reshape(1, 1, 6)
    torch.testing.assert_close(conv(x)[0, 0], torch.tensor([0.0, 1, 2, 3, 4, 5]))


def test_time_conv_spans_all_bands_and_matches_torch_same_padding():
    torch.manual_seed(0)
    first = layers.TimeConv(40, 16, 4, "valid")
    assert first(torch.randn(2, 40, 20)).shape == (2, 16, 17)
    assert sum(p.numel() for p in first.parameters()) == 40 * 4 * 16 + 16
    same = layers.TimeConv(16, 8, 4, "same")
    x = torch.randn(2, 16, 20)
    assert same(x).shape == (2, 8, 20)
    with pytest.warns(UserWarning):  # torch pads even kernels through a copy, hence the explicit pad
        expected = F.relu(F.conv1d(x, same.conv.weight, same.conv.bias, padding="same"))
    torch.testing.assert_close(same(x), expected)
    assert same.kernel is same.conv.weight
    with pytest.raises(ConfigError, match="padding"):
        layers.TimeConv(1, 1, 4, "causal")


def test_global_max_avg_concatenates_maxima_then_means():
    x = torch.tensor([[[1.0, 3.0, 2.0], [0.0, -1.0, 4.0]]])
    torch.testing.assert_close(layers.global_max_avg(x), torch.tensor([[3.0, 4.0, 2.0, 1.0]]))


def test_conv_pool_2d_output_size_matches_its_output():
    torch.manual_seed(0)
    for padding, kernel, pool in [("valid", (3, 5), (2, 4)), ("same", (3, 3), (2, 2)), ("same", (3, 4), (1, 1))]:
        block = layers.ConvPool2d(2, 3, kernel, pool, padding=padding, dropout=0.5).eval()
        out = block(torch.randn(1, 2, 29, 59))
        assert out.shape[2:] == block.output_size((29, 59))
    # Even kernels pad like Keras (the extra zero after); odd ones symmetrically, inside the convolution.
    block = layers.ConvPool2d(1, 1, (3, 4), (1, 1), padding="same")
    with torch.no_grad():
        block.conv.weight.zero_()
        block.conv.weight[0, 0, 1, 0] = 1.0  # centre row, first tap: reads frame t - 1
        block.conv.bias.zero_()
    x = torch.arange(1.0, 6.0).reshape(1, 1, 1, 5)
    torch.testing.assert_close(block(x)[0, 0, 0], torch.tensor([0.0, 1, 2, 3, 4]))
    with pytest.raises(ConfigError, match="too small"):
        layers.flat_size([layers.ConvPool2d(1, 4, (3, 3), (2, 4))], 16, 5, "tiny")
    assert layers.flat_size([layers.ConvPool2d(1, 4, (3, 3), (2, 4))], 16, 30, "ok") == 4 * 7 * 7


def test_dense_head_sizes_relu_and_dropout_places():
    head = layers.DenseHead(12, (6, 4), 3, dropout=(0.0, 0.0, 0.5))
    assert [tuple(layer.weight.shape) for layer in head.layers] == [(6, 12), (4, 6), (3, 4)]
    x = torch.randn(5, 12)
    head.eval()
    expected = head.layers[2](F.relu(head.layers[1](F.relu(head.layers[0](x)))))
    torch.testing.assert_close(head(x), expected)  # no softmax, no dropout in eval mode
    with pytest.raises(ConfigError, match="3 dropout rates"):
        layers.DenseHead(12, (6, 4), 3, dropout=(0.1,))


def test_keras_l2_sums_coefficient_times_squared_weights():
    a, b = torch.ones(2, 3), torch.full((4,), 2.0)
    value = layers.keras_l2([(a, 0.5), (b, 0.1)], like=a)
    assert value.dim() == 0
    assert value.item() == pytest.approx(0.5 * 6 + 0.1 * 16)
    assert layers.keras_l2([], like=a).item() == 0.0


class _Tiny(layers.GenreNet):
    def __init__(self):
        super().__init__()
        self.n_bands, self.min_frames = 3, 4
        self.conv = layers.TimeConv(3, 2, 4)
        self.keras_init()

    def forward(self, x):
        return self.conv(self.check_input(x))


def test_genre_net_checks_input_and_inits_like_keras():
    net = _Tiny()
    assert (net.conv.conv.bias == 0).all()
    limit = (6 / (3 * 4 + 2 * 4)) ** 0.5  # Glorot: fans include the receptive field
    assert net.conv.kernel.abs().max() <= limit
    assert net(torch.zeros(1, 3, 4)).shape == (1, 2, 1)
    assert net.regularization().item() == 0.0
    for shape in [(1, 4, 8), (1, 3, 3), (3, 8)]:
        with pytest.raises(ConfigError, match=r"_Tiny takes \[batch, 3 bands, >= 4 frames\]"):
            net(torch.zeros(shape))
    with pytest.raises(ConfigError, match="at least 25 frames"):
        layers.GenreNet.check_frames("Net", 24, 25)
