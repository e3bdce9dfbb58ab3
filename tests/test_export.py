"""genrekit.export: ONNX files equal to the PyTorch network, with everything to rebuild the classifier."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch

from conftest import noise, tone, write
from genrekit import features
from genrekit.errors import ConfigError
from genrekit.export import export_onnx
from genrekit.inference import ONNX_FORMAT, load_model, load_onnx, read_metadata


@pytest.fixture(scope="module")
def onnx_file(coarse_run, tmp_path_factory):
    return export_onnx(coarse_run, tmp_path_factory.mktemp("onnx") / "model.onnx")


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """8 s of a chord over noise."""
    y = 0.3 * tone(220.0, 8.0) + 0.2 * tone(330.0, 8.0) + noise(8.0, seed=3)
    return write(tmp_path_factory.mktemp("song") / "song.wav", y)


def test_onnx_logits_equal_torch_on_the_same_batch(onnx_file, coarse_model):
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    frames = coarse_model.scorer.frames
    for n in (1, 7, 300):  # the batch axis is dynamic
        clips = np.random.default_rng(n).uniform(-80, 0, (n, coarse_model.spec.bands, frames)).astype(np.float32)
        (ours,) = session.run(None, {"clips": clips})
        with torch.inference_mode():
            reference = coarse_model.scorer.model(torch.from_numpy(clips)).numpy()
        assert ours.shape == (n, len(coarse_model.genres))
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4)


def test_classifier_from_onnx_gives_the_torch_probabilities_on_a_file(onnx_file, coarse_model, song):
    onnx_model = load_model(onnx_file, workers=1)
    (ours,) = onnx_model.predict(song)
    (reference,) = coarse_model.predict(song)
    assert ours.ok and reference.ok
    assert ours.genre == reference.genre
    np.testing.assert_allclose(list(ours.probabilities.values()), list(reference.probabilities.values()), atol=1e-5)
    assert onnx_model.model_id == coarse_model.model_id  # the same weights


def test_metadata_round_trip(onnx_file, coarse_model, coarse_run):
    metadata = read_metadata(onnx_file)
    assert metadata["format"] == ONNX_FORMAT
    assert json.loads(metadata["genres"]) == coarse_model.genres
    assert features.from_dict(json.loads(metadata["spec"])) == coarse_model.spec
    config = coarse_model.info["config"]
    assert (int(metadata["clip_frames"]), int(metadata["clip_hop"])) == (config["clip_frames"], config["clip_hop"])
    assert json.loads(metadata["config"])["model"] == config["model"]
    rebuilt = load_onnx(onnx_file, clip_hop=5)
    assert (rebuilt.genres, rebuilt.spec, rebuilt.model_id) == (coarse_model.genres, coarse_model.spec,
                                                                coarse_model.model_id)
    assert (rebuilt.scorer.frames, rebuilt.scorer.hop) == (config["clip_frames"], 5)


def test_a_model_file_card_travels_into_the_onnx_metadata(coarse_model, tmp_path):
    card = {"name": "test model", "trained_on": "synthetic"}
    pt = coarse_model.save(tmp_path / "model.pt", card=card)
    onnx_path = export_onnx(pt, tmp_path / "model.onnx")
    assert json.loads(read_metadata(onnx_path)["card"]) == card
    assert load_model(onnx_path).info["card"] == card


def test_a_classical_run_is_refused_clearly(tmp_path):
    from genrekit import training
    from test_training import toy_tracks

    config = training.TrainConfig(model="knn", features="coarse_mel")
    training.fit_classical(config, ["a", "b", "c"], toy_tracks(4, seed=1), toy_tracks(1, seed=2),
                           toy_tracks(1, seed=3), 1, 1, tmp_path / "knn", progress=False)
    with pytest.raises(ConfigError, match="classical.*only PyTorch networks can be exported to ONNX") as caught:
        export_onnx(tmp_path / "knn", tmp_path / "knn.onnx")
    assert str(tmp_path / "knn") in str(caught.value)
    assert not (tmp_path / "knn.onnx").exists()


def test_an_onnx_model_is_not_exported_again(onnx_file, tmp_path):
    with pytest.raises(ConfigError, match="ONNX model"):
        export_onnx(onnx_file, tmp_path / "again.onnx")


def test_the_bundled_model_exports_with_its_pruned_musicnn_and_its_rule(tmp_path):
    """v2: the ONNX file holds the pruned musicnn + head and the geomean clip-to-track rule."""
    bundled = load_model()
    path = export_onnx(None, tmp_path / "v2.onnx")
    assert read_metadata(path)["rule"] == "geomean"
    onnx_model = load_model(path)
    assert onnx_model.rule == "geomean" and onnx_model.model_id == bundled.model_id
    db = np.random.default_rng(2).uniform(-60, 0, (128, 400)).astype(np.float32)
    np.testing.assert_allclose(onnx_model.predict_spectrogram(db), bundled.predict_spectrogram(db), atol=1e-4)
