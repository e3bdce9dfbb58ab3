"""genrekit.models.musicnn: the port against musicnn's own TensorFlow outputs (../shared/data), shapes, tags,
the shipped weights, and (with GENREKIT_MUSICNN_WHEEL) a fresh conversion from the pinned wheel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import SHARED_DATA
from genrekit.models import musicnn

REFERENCE = SHARED_DATA / "musicnn-reference" / "musicnn_tf_reference.npz"
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")
NAMES = ("MSD_musicnn", "MTT_musicnn")


@pytest.fixture(scope="module")
def reference():
    if not REFERENCE.is_file():
        pytest.skip(f"{REFERENCE} not present")
    with np.load(REFERENCE) as saved:
        return {key: saved[key] for key in saved.files}


@pytest.fixture(scope="module")
def ported(reference):
    """Each model's outputs on the 100 reference patches (10 clips x 10 patches), computed once."""
    x = torch.from_numpy(reference["inputs"].reshape(-1, musicnn.N_FRAMES, musicnn.N_MELS))
    out = {}
    for name in NAMES:
        with torch.inference_mode():
            result = musicnn.load(name)(x)
        out[name] = {key: value.numpy().reshape(10, 10, -1) for key, value in result.items()}
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("name", NAMES)
def test_matches_musicnns_tensorflow_graph_on_real_music(reference, ported, name):
    assert reference["inputs"].shape == (10, 10, 187, 96)
    taggram, expected = ported[name]["taggram"], reference[f"{name}/taggram"]
    assert np.abs(taggram - expected).max() <= 1e-5
    for key in ("penultimate", "mean_pool", "max_pool"):
        got, expected = ported[name][key], reference[f"{name}/{key}"]
        assert got.shape == expected.shape
        # relative to the output's scale: float32 sums in another order differ by ~1e-6 of it
        assert np.abs(got - expected).max() <= 1e-4 * np.abs(expected).max(), key


@pytest.mark.shared_data
def test_tags_make_sense_on_the_reference_clips(reference, ported):
    """Not a number from the paper, a sanity check of tag order: the classical clip's mean MSD taggram
    ranks "classical"-like tags high and the metal clip's ranks "metal"."""
    clips = list(reference["clips"])
    msd = ported["MSD_musicnn"]["taggram"].mean(axis=1)
    metal = msd[clips.index("metal.00000")]
    assert musicnn.MSD_LABELS[int(np.argmax(metal))] in {"metal", "heavy metal", "hard rock", "rock"}
    mtt = ported["MTT_musicnn"]["taggram"].mean(axis=1)
    top = [musicnn.MTT_LABELS[i] for i in np.argsort(mtt[clips.index("classical.00000")])[::-1][:3]]
    assert "classical" in top


def test_load_gives_an_eval_network_with_the_documented_outputs():
    net = musicnn.load("MSD_musicnn")
    assert not net.training
    assert net.tags == musicnn.MSD_LABELS and len(net.tags) == 50 and len(set(net.tags)) == 50
    with torch.no_grad():
        out = net(torch.rand(3, 187, 96) * 3)
    assert list(out) == list(OUTPUTS)
    assert out["taggram"].shape == (3, 50) and out["penultimate"].shape == (3, 200)
    assert out["mean_pool"].shape == (3, 753) and out["max_pool"].shape == (3, 753)
    assert all(v.dtype == torch.float32 for v in out.values())
    assert ((out["taggram"] > 0) & (out["taggram"] < 1)).all()
    assert (out["max_pool"] >= out["mean_pool"] - 1e-5).all()
    logits = net.backend.output(out["penultimate"])
    torch.testing.assert_close(torch.sigmoid(logits), out["taggram"])


def test_mtt_tags_and_other_patch_lengths():
    net = musicnn.load("MTT_musicnn")
    assert net.tags[:3] == ["guitar", "classical", "slow"] and net.tags[-1] == "choral"
    x = torch.rand(2, 400, 96) * 3
    with torch.no_grad():
        for frames in (1, 40, 400):  # musicnn takes any length (its models.py pads, pools over time)
            assert net(x[:, :frames])["taggram"].shape == (2, 50)
        # eval batch norm: each patch's outputs do not depend on the rest of the batch
        together = net(x[:, :187])["penultimate"]
        alone = torch.cat([net(x[i:i + 1, :187])["penultimate"] for i in range(2)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_batches_run_in_chunks_with_the_same_outputs():
    net = musicnn.load("MSD_musicnn")
    assert net.chunk == 2
    x = torch.rand(5, 60, 96) * 3  # chunks of 2, 2 and 1
    with torch.no_grad():
        chunked = net(x)
        net.chunk = None
        whole = net(x)
    for key in chunked:
        assert chunked[key].shape == whole[key].shape
        torch.testing.assert_close(chunked[key], whole[key], rtol=1e-5, atol=1e-5 * whole[key].abs().max())


def test_layers_follow_musicnns_source():
    net = musicnn.Musicnn()
    fe = net.frontend
    assert fe.timbral_7x38.conv.weight.shape == (204, 1, 7, 38)
    assert fe.timbral_7x67.conv.weight.shape == (204, 1, 7, 67)
    assert fe.timbral_7x38.padding == (3, 3)
    # TensorFlow "same": the odd zero goes at the end
    assert [getattr(fe, f"temporal_{n}").padding for n in (128, 64, 32)] == [(63, 64), (31, 32), (15, 16)]
    assert fe.out_channels == 561
    assert net.midend.conv1.weight.shape == (64, 561, 7)
    assert net.backend.dense.weight.shape == (200, 1506)
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    # the checkpoint's trainable variables: kernels and biases of 8 convolutions and 2 dense layers, and
    # gamma / beta of 11 batch norms (1 + 2 * 204 + 3 * 51 + 3 * 64 + 1506 + 200 channels)
    assert sum(p.numel() for p in net.parameters()) == 782_239 + 2 * 2_460


def test_shipped_weights_are_plain_float32_state_dicts_with_the_licence():
    for name in NAMES:
        path = musicnn.weights_path(name)
        state = torch.load(path, map_location="cpu", weights_only=True)
        assert set(state) == set(musicnn.Musicnn().state_dict())
        assert all(v.dtype == torch.float32 for k, v in state.items() if not k.endswith("num_batches_tracked"))
    licence = (musicnn.WEIGHTS_DIR / "LICENSE.md").read_text()
    assert "Universitat Pompeu Fabra" in licence and "Permission to use, copy, modify" in licence
    assert musicnn.WHEEL_SHA256 in (musicnn.WEIGHTS_DIR / "README.md").read_text()


def test_importing_the_port_loads_no_training_code():
    code = ("import sys; from genrekit.models import musicnn; musicnn.load('MSD_musicnn'); "
            "bad = [m for m in sys.modules if m in ('genrekit.training', 'genrekit.data', 'tensorflow')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", NAMES)
def test_a_fresh_conversion_from_the_wheel_equals_the_shipped_weights(musicnn_wheel, name):
    fresh = musicnn.convert_wheel(musicnn_wheel, name)
    shipped = torch.load(musicnn.weights_path(name), map_location="cpu", weights_only=True)
    assert fresh.keys() == shipped.keys()
    for key in fresh:
        assert torch.equal(fresh[key], shipped[key]), key
