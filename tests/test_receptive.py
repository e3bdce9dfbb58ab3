"""genrekit.explain.receptive: receptive-field arithmetic on known stacks and on the registered networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genrekit import models
from genrekit.errors import ConfigError
from genrekit.explain import activations
from genrekit.explain.receptive import Field, Layer, layer_steps, network_fields, network_graph, receptive_field, union


def test_a_known_chain_by_hand():
    # conv 3 -> pool 2/2 -> conv 3 (frames): 3, then 4 (jump 2), then 4 + 2 * 2 = 8.
    field = receptive_field([Layer((1, 3)), Layer((1, 2), (1, 2)), Layer((1, 3))])
    assert field.size == (1, 8) and field.jump == (1, 2) and field.start == (0, 0)
    # Padding moves the start back by padding * jump; dilation widens the kernel.
    padded = receptive_field([Layer((3, 3), padding=(1, 1)), Layer((2, 2), (2, 2)), Layer((3, 3), padding=(1, 1))])
    assert padded.size == (8, 8) and padded.jump == (2, 2) and padded.start == (-3, -3)
    dilated = receptive_field([Layer((1, 3), dilation=(1, 4))])
    assert dilated.size == (1, 9)


def test_region_and_inside():
    field = Field(size=(10, 34), jump=(4, 16), start=(0, 0))
    bands, frames = field.region(2, 1)
    assert (bands.start, bands.stop, frames.start, frames.stop) == (8, 18, 16, 50)
    assert field.inside(2, 0, (18, 34)) and not field.inside(2, 1, (18, 49))


def test_union_of_aligned_fields_and_mismatched_grids():
    a = Field((1, 4), (1, 1), (0, 0))
    b = Field((1, 10), (1, 1), (0, -2))
    assert union([a, b]) == Field((1, 10), (1, 1), (0, -2))
    with pytest.raises(ConfigError, match="different grids"):
        union([a, Field((1, 4), (1, 2), (0, 0))])


def test_dong2018_fields_follow_its_layers():
    fields = network_fields(models.build("dong2018", n_bands=64, n_frames=256, n_classes=10))
    # conv 3x3 -> pool 2x4 -> conv 3x5 -> pool 2x4
    assert fields["block1"] == Field((4, 6), (2, 4), (0, 0))
    assert fields["block2"] == Field((10, 34), (4, 16), (0, 0))


def test_band_spanning_networks_see_all_bands():
    net1 = network_fields(models.build("yang2019_net1", n_bands=32, n_frames=32, n_classes=10))
    assert all(f.all_bands and f.size[0] == 32 for f in net1.values())
    # conv1 valid (4), conv2 "same" (1 before): 7 frames from -1, conv3 / conv4: 10 from -2.
    assert [net1[k].size[1] for k in ("conv1", "conv2", "conv3", "conv4")] == [4, 7, 10, 10]
    assert net1["conv3"].start == (0, -2)
    net2 = network_fields(models.build("yang2019_net2", n_bands=32, n_frames=32, n_classes=10))
    assert net2["sum"] == net2["conv3"]
    nnet1 = network_fields(models.build("zhang2016_nnet1", n_bands=20, n_frames=32, n_classes=10))
    # The shortest clip nnet1 takes (25 frames) is exactly conv3's field.
    assert nnet1["conv3"].size[1] == 25 and nnet1["conv3"].jump[1] == 4
    assert list(network_fields(models.build("senac2017_music", n_bands=8, n_frames=32, n_classes=10))) == \
        ["conv1", "conv2", "conv3", "add"]
    wang = network_fields(models.build("wang_cnn2d", n_bands=32, n_frames=32, n_classes=10, channels=(4, 4)))
    assert wang["blocks.1"] == Field((10, 10), (4, 4), (-3, -3)) and not wang["blocks.1"].all_bands


@pytest.mark.parametrize("name, layer, n_bands, n_frames", [
    ("dong2018", "block2", 20, 60), ("yang2019_net1", "conv4", 12, 24), ("zhang2016_nnet1", "conv3", 6, 40),
    ("yang2019_net2", "sum", 8, 24)])
def test_input_outside_the_field_cannot_reach_the_unit(name, layer, n_bands, n_frames):
    torch.manual_seed(0)
    net = models.build(name, n_bands=n_bands, n_frames=n_frames, n_classes=10).eval()
    field = network_fields(net)[layer]
    x = np.random.default_rng(0).standard_normal((1, n_bands, n_frames)).astype(np.float32)
    out = activations.record(net, x, [layer])[layer][0]
    out = out[:, None, :] if out.ndim == 2 else out
    band, frame = out.shape[1] // 2, out.shape[2] // 2
    assert field.inside(band, frame, (n_bands, n_frames))
    bands, frames = field.region(band, frame)
    changed = x + 5.0
    changed[0, bands, frames] = x[0, bands, frames]  # everything outside the field changes
    after = activations.record(net, changed, [layer])[layer][0]
    after = after[:, None, :] if after.ndim == 2 else after
    np.testing.assert_allclose(after[:, band, frame], out[:, band, frame], rtol=1e-5, atol=1e-5)
    inside = x.copy()
    inside[0, bands, frames] += 5.0  # and changing the field does change it
    moved = activations.record(net, inside, [layer])[layer][0]
    moved = moved[:, None, :] if moved.ndim == 2 else moved
    assert not np.allclose(moved[:, band, frame], out[:, band, frame])


def test_plain_torch_modules_and_a_generic_chain():
    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(16, 4, 3, padding=1)
            self.pool = nn.MaxPool1d(2)
            self.out = nn.Linear(4, 3)

        def forward(self, x):
            return self.out(self.pool(self.conv(x)).mean(-1))

    fields = network_fields(Chain())
    assert fields["conv"] == Field((16, 3), (1, 1), (0, -1), all_bands=True)
    assert fields["pool"].size == (16, 4) and fields["pool"].jump == (1, 2)
    assert layer_steps(nn.Conv2d(1, 2, (3, 5), stride=(1, 2), padding=(1, 2))) == [Layer((3, 5), (1, 2), (1, 2))]
    assert layer_steps(nn.AvgPool2d(2)) == [Layer((2, 2), (2, 2))]
    with pytest.raises(ConfigError, match="no receptive-field rule"):
        layer_steps(nn.ReLU())
    with pytest.raises(ConfigError, match="no convolution"):
        network_graph(nn.Sequential(nn.Linear(3, 3)))
