"""genrekit.models.musicnn_prune: the pruned musicnn against the full one on real music (../shared/data),
the exact folding of constant channels on any input, and the shipped kept-channel lists."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from conftest import SHARED_DATA
from genrekit import datasets, features
from genrekit.errors import ConfigError, GenrekitError
from genrekit.features import musicnn_input
from genrekit.models import musicnn, musicnn_prune

REFERENCE = SHARED_DATA / "musicnn-reference" / "musicnn_tf_reference.npz"
COARSE_MEL = SHARED_DATA / "gtzan-coarse-mel"
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")
NAMES = ("MSD_musicnn", "MTT_musicnn")
#: Largest difference allowed between the pruned and the full network's taggram (probabilities); measured
#: ~1e-6 on the reference clips and the 639 dev tracks (scripts/find_dead_musicnn_channels.py).
TAGGRAM_TOLERANCE = 1e-4
#: The same for the embeddings, relative to their largest magnitude.
EMBEDDING_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def nets():
    return {name: musicnn.load(name) for name in NAMES}


@pytest.fixture(scope="module")
def pruned():
    return {name: musicnn_prune.load(name) for name in NAMES}


@pytest.fixture(scope="module")
def reference_inputs():
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} not present")
    with np.load(REFERENCE) as saved:
        return torch.from_numpy(saved["inputs"].reshape(-1, musicnn.N_FRAMES, musicnn.N_MELS))


def outputs(net, x: torch.Tensor, **options) -> dict[str, torch.Tensor]:
    with torch.inference_mode():
        return net(x, **options)


def assert_agree(got: dict, expected: dict) -> None:
    """The tolerances above, and the same top tag per patch."""
    assert (got["taggram"] - expected["taggram"]).abs().max() <= TAGGRAM_TOLERANCE
    for key in ("penultimate", "mean_pool", "max_pool"):
        assert got[key].shape == expected[key].shape
        assert (got[key] - expected[key]).abs().max() <= EMBEDDING_TOLERANCE * expected[key].abs().max(), key
    assert torch.equal(got["taggram"].argmax(1), expected["taggram"].argmax(1))


def gamma_zeroed(net, channels) -> musicnn.Musicnn:
    """A copy of ``net`` whose front-end ``channels`` output their batch norm's shift on every input."""
    net = copy.deepcopy(net)
    start = 0
    for name in net.frontend.branch_names:
        bn = getattr(net.frontend, name).bn
        mine = [c - start for c in channels if start <= c < start + bn.num_features]
        bn.weight.data[mine] = 0.0
        start += bn.num_features
    return net


# --- on real music ---------------------------------------------------------------------------------------------

@pytest.mark.shared_data
@pytest.mark.parametrize("name, per_clip", [("MSD_musicnn", 10), ("MTT_musicnn", 3)])
def test_pruned_equals_full_on_musicnns_inputs_of_the_ten_real_clips(nets, pruned, reference_inputs, name,
                                                                     per_clip):
    """All 100 patches for MSD_musicnn; the first 3 of each clip for MTT_musicnn, whose pruned front end is
    larger (time)."""
    x = reference_inputs.reshape(10, 10, musicnn.N_FRAMES, musicnn.N_MELS)[:, :per_clip].reshape(
        -1, musicnn.N_FRAMES, musicnn.N_MELS)
    full, fast = outputs(nets[name], x), outputs(pruned[name], x)
    assert_agree(fast, full)
    # each clip's decision: the top tag of its mean taggram
    decision = {k: v["taggram"].reshape(10, per_clip, -1).mean(1).argmax(1) for k, v in (("f", fast), ("u", full))}
    assert torch.equal(decision["f"], decision["u"])


@pytest.mark.shared_data
def test_pruned_equals_full_on_dev_tracks_through_the_coarse_adapter(nets, pruned):
    """A few of the 639 dev tracks (the script compares all of them)."""
    if not (COARSE_MEL / "gtzan_coarse_mel_dev.npz").is_file():
        pytest.skip(f"{COARSE_MEL} not present")
    dev = datasets.load("coarse-mel", COARSE_MEL)
    adapter = features.get("musicnn_coarse")
    tracks = dev.tracks[::160]
    x = torch.from_numpy(np.concatenate([musicnn_input.patches(adapter.from_source(dev.features[t.id]).T)
                                         for t in tracks]))
    assert len(tracks) == 4 and x.shape == (40, 187, 96)
    assert_agree(outputs(pruned["MSD_musicnn"], x), outputs(nets["MSD_musicnn"], x))


@pytest.mark.shared_data
def test_pruning_a_live_channel_changes_the_outputs(nets, reference_inputs):
    """The comparison above can fail: drop one kept channel (drawn at random among those whose output moves by
    more than 1 on the data) and the outputs leave the tolerance."""
    keep = json.loads(musicnn_prune.keep_path("MSD_musicnn").read_text())
    span = np.asarray(keep["span"])
    kept = np.asarray(keep["kept"])
    victim = np.random.default_rng(0).choice(kept[span[kept] > 1.0])
    x = reference_inputs[:20]
    full = outputs(nets["MSD_musicnn"], x)
    damaged = outputs(musicnn_prune.prune(nets["MSD_musicnn"], kept[kept != victim]), x)
    assert (damaged["penultimate"] - full["penultimate"]).abs().max() > \
        100 * EMBEDDING_TOLERANCE * full["penultimate"].abs().max()
    assert (damaged["mean_pool"][:, victim] - full["mean_pool"][:, victim]).abs().max() > 0.01


# --- exact folding, on any input ------------------------------------------------------------------------------

def test_the_front_end_is_a_scaled_relu_of_its_drive(nets):
    net = nets["MTT_musicnn"]
    x = torch.rand(3, 60, 96) * 3
    with torch.inference_mode():
        front, drive = musicnn_prune.frontend_drive(net, x)
        assert torch.equal(front, net.frontend(x))
        a, b = musicnn_prune.frontend_affine(net)
        torch.testing.assert_close(a[:, None] * torch.relu(drive) + b[:, None], front, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("frames", [1, 2, 5, 7, 40, 187])
def test_constant_channels_fold_exactly_at_the_edges_too(nets, frames):
    """Channels made constant on every input (batch norm gamma 0) are pruned; the network must not change,
    also in the first and last 3 frames, where musicnn's zero padding of the mid end hides the constants
    (and in inputs shorter than the mid end's kernel, where both edges overlap)."""
    rng = np.random.default_rng(frames)
    dead = rng.choice(561, 450, replace=False)
    net = gamma_zeroed(nets["MSD_musicnn"], dead)
    small = musicnn_prune.prune(net, np.setdiff1d(np.arange(561), dead))
    x = torch.rand(4, frames, 96) * 4
    got, expected = outputs(small, x), outputs(net, x)
    for key in OUTPUTS:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-5 * expected[key].abs().max())


def test_the_dead_channels_term_is_not_a_bias(nets):
    """Why FoldedConv1d exists: with zero padding the constants' contribution differs at the edges."""
    net = gamma_zeroed(nets["MSD_musicnn"], range(300))
    conv1 = musicnn_prune.prune(net, range(300, 561)).midend.conv1
    term = torch.nn.functional.conv1d(torch.nn.functional.pad(torch.ones(1, 1, 20), (3, 3)), conv1.dead_kernel)[0]
    interior = term[:, 3:-3]
    assert torch.allclose(interior, interior[:, :1].expand_as(interior))
    assert (term[:, :3] - term[:, 3:4]).abs().max() > 1e-2 * term.abs().max()


def test_keeping_every_channel_changes_nothing(nets):
    net = nets["MTT_musicnn"]
    x = torch.rand(2, 187, 96) * 3
    got, expected = outputs(musicnn_prune.prune(net, range(561)), x), outputs(net, x)
    for key in OUTPUTS:
        torch.testing.assert_close(got[key], expected[key], rtol=1e-5, atol=1e-5 * expected[key].abs().max())


def test_live_only_returns_the_live_features(pruned):
    net = pruned["MSD_musicnn"]
    x = torch.rand(2, 187, 96) * 3
    full, live = outputs(net, x), outputs(net, x, live_only=True)
    assert live["mean_pool"].shape == (2, len(net.live_features)) == live["max_pool"].shape
    assert len(net.live_features) == len(net.kept) + 192
    for key in ("mean_pool", "max_pool"):
        assert torch.equal(live[key], full[key][:, net.live_features])
    assert torch.equal(live["taggram"], full["taggram"])
    dead = np.setdiff1d(np.arange(753), net.live_features)
    assert torch.equal(full["mean_pool"][:, dead], full["max_pool"][:, dead])  # constants
    assert torch.equal(full["mean_pool"][0, dead], full["mean_pool"][1, dead])


def test_batches_run_in_chunks_with_the_same_outputs(pruned):
    net = copy.deepcopy(pruned["MSD_musicnn"])
    assert net.chunk == 8
    x = torch.rand(11, 50, 96) * 3  # chunks of 8 and 3
    for live_only in (False, True):
        net.chunk = 8
        chunked = outputs(net, x, live_only=live_only)
        net.chunk = None
        whole = outputs(net, x, live_only=live_only)
        for key in OUTPUTS:
            assert chunked[key].shape == whole[key].shape
            torch.testing.assert_close(chunked[key], whole[key], rtol=1e-5, atol=1e-5 * whole[key].abs().max())


# --- the shipped lists ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_shipped_keep_lists_say_what_they_keep_and_how_they_were_made(name):
    keep = json.loads(musicnn_prune.keep_path(name).read_text())
    assert keep["model"] == name and keep["front_end_channels"] == 561
    assert keep["n_kept"] == len(keep["kept"]) == sum(keep["kept_per_branch"].values())
    assert keep["kept"] == sorted(set(keep["kept"])) and 0 <= keep["kept"][0] and keep["kept"][-1] < 561
    span = np.asarray(keep["span"])
    assert len(span) == 561
    assert (span[keep["kept"]] > keep["tolerance"]).all()
    assert (np.delete(span, keep["kept"]) <= keep["tolerance"]).all()
    assert "find_dead_musicnn_channels.py" in keep["made_by"] and keep["data_patches"]["gtzan_coarse_mel_dev"] == 6390
    assert musicnn_prune.kept_channels(name) == keep["kept"]


@pytest.mark.parametrize("name", NAMES)
def test_load_pruned_is_a_drop_in(pruned, name):
    net = pruned[name]
    assert isinstance(net, musicnn_prune.PrunedMusicnn) and not net.training
    assert net.tags == musicnn.MODELS[name]
    out = outputs(net, torch.rand(3, 187, 96) * 3)
    assert list(out) == list(OUTPUTS)
    assert [tuple(v.shape) for v in out.values()] == [(3, 50), (3, 200), (3, 753), (3, 753)]
    assert all(v.dtype == torch.float32 for v in out.values())
    # much less work than the 561-channel front end
    assert sum(conv.out_channels for conv in net.frontend.convs) == len(net.kept) < 561


# --- bad input ----------------------------------------------------------------------------------------------------

def test_bad_kept_lists_and_inputs_are_refused(nets, pruned):
    for kept in ([], [-1, 3], [561]):
        with pytest.raises(ConfigError, match="kept musicnn channels"):
            musicnn_prune.prune(nets["MSD_musicnn"], kept)
    training = copy.deepcopy(nets["MSD_musicnn"]).train()
    with pytest.raises(ConfigError, match="eval"):
        musicnn_prune.prune(training, range(561))
    with pytest.raises(ConfigError, match=r"\[batch, frames, 96\]"):
        pruned["MSD_musicnn"](torch.zeros(2, 187, 128))


def test_a_missing_or_damaged_keep_list_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(musicnn_prune, "keep_path", lambda name: tmp_path / f"{name}.keep.json")
    with pytest.raises(GenrekitError, match=r"MSD_musicnn\.keep\.json: .*No such file.*find_dead_musicnn_channels"):
        musicnn_prune.load("MSD_musicnn")
    (tmp_path / "MSD_musicnn.keep.json").write_text('{"kept": [1, 2')
    with pytest.raises(GenrekitError, match=r"MSD_musicnn\.keep\.json: .*not a kept-channel list"):
        musicnn_prune.load("MSD_musicnn")
