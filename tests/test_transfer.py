"""genrekit.models.transfer: musicnn embeddings as features, scikit-learn heads, the linear network."""

import numpy as np
import pytest
import torch

from conftest import noise, tone
from genrekit import aggregation, features, models
from genrekit.errors import ConfigError
from genrekit.features import musicnn_input
from genrekit.models import transfer


def music(seconds: float, seed: int) -> np.ndarray:
    return tone(220.0 * (1 + seed), seconds) + noise(seconds, seed=seed)


def test_layer_rows_and_track_vector():
    rows = transfer.layer_rows("mean_pool+max_pool")
    assert rows.shape == (1506,) and rows[0] == 250 and rows[-1] == 1755
    values = np.arange(1756 * 3, dtype=np.float32).reshape(1756, 3)
    np.testing.assert_array_equal(transfer.track_vector(values, "taggram"), values[:50].mean(axis=1))
    with pytest.raises(ConfigError, match="unknown musicnn layer"):
        transfer.layer_rows("mean_pool+nope")


def test_embedding_spec_from_audio_and_from_coarse_mel():
    y = music(7.0, 0)
    spec = features.get("musicnn_msd_coarse")
    assert spec.derives_from == "coarse_mel" and features.get("musicnn_msd").derives_from is None
    values = spec.compute(y)
    assert values.shape == (1756, 2) and values.dtype == np.float32
    assert values.shape[1] == spec.n_frames(len(y))
    np.testing.assert_array_equal(values, spec.from_source(features.get("coarse_mel").compute(y)))
    taggram = values[transfer.layer_rows("taggram")]
    assert ((taggram > 0) & (taggram < 1)).all()
    with pytest.raises(ConfigError, match="from audio only"):
        features.get("musicnn_msd").from_source(np.zeros((128, 40), np.float32))


def test_embeddings_are_musicnns_outputs_per_patch():
    from genrekit.models import musicnn

    y16 = music(4.0, 1)[: 4 * 16000]
    values = features.get("musicnn_msd").compute(y16)
    patch = torch.from_numpy(musicnn_input.patches(musicnn_input.mel_from_audio(y16)).copy())
    with torch.inference_mode():
        out = musicnn.load("MSD_musicnn")(patch)
    np.testing.assert_allclose(values[transfer.layer_rows("penultimate")], out["penultimate"].numpy().T,
                               rtol=1e-5, atol=1e-5)


def test_linear_network_equals_the_head_on_the_mean_embedding():
    rng = np.random.default_rng(0)
    net = transfer.TransferNetwork(layers="penultimate", n_classes=3).eval()
    clips = torch.from_numpy(rng.uniform(0, 3, (12, 96, 187)).astype(np.float32))
    with torch.inference_mode():
        embedded = net.embed(clips).numpy()
    labels = np.repeat([0, 1, 2], 4)
    pipeline = transfer.build_head("musicnn_msd_logreg", C=1.0).fit(embedded + rng.normal(0, 0.1, embedded.shape),
                                                                   labels)
    net.set_linear_head(pipeline)
    with torch.inference_mode():
        logits = net(clips).numpy()
    np.testing.assert_allclose(logits, pipeline.decision_function(embedded), rtol=1e-3, atol=1e-3)
    # geomean of a track's clip probabilities = the head's probabilities of the mean embedding
    track = slice(0, 4)
    probabilities = np.exp(logits[track]) / np.exp(logits[track]).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(aggregation.track_scores(probabilities, "geomean"),
                               pipeline.predict_proba(embedded[track].mean(axis=0, keepdims=True))[0], atol=1e-4)


def test_linear_network_is_registered_for_fine_tuning():
    info = models.info("musicnn_msd_linear")
    assert (info.features, info.coarse_features, info.aggregation) == ("musicnn", "musicnn_coarse", "geomean")
    net = models.build("musicnn_msd_linear", n_classes=4, pretrained=False)
    assert net(torch.zeros(2, 96, 187)).shape == (2, 4)
    with pytest.raises(ConfigError, match="96 mel bands"):
        models.build("musicnn_msd_linear", n_bands=128)


def test_transfer_model_trains_on_a_generated_folder_in_seconds(tmp_path):
    from genrekit.inference import load_model
    from genrekit.training import TrainConfig, train

    config = TrainConfig(model="musicnn_msd_logreg", dataset="synthetic", root=str(tmp_path / "audio"),
                         dataset_options={"n_per_genre": 4, "seconds": 4.0}, split="holdout:2/1/1",
                         cache=str(tmp_path / "cache"), model_args={"C": 1.0})
    assert config.resolved().features == "musicnn_msd"
    metrics = train(config, tmp_path / "run", progress=False)
    assert metrics["paper"].startswith("musicnn transfer") and metrics["test"]["n_tracks"] == 10
    assert metrics["test"]["track_accuracy"] >= 0.5  # ten caricatured genres, two training tracks each
    classifier = load_model(tmp_path / "run", workers=1)
    [prediction] = classifier.predict([next((tmp_path / "audio").rglob("*.wav"))])
    assert prediction.ok and prediction.genre in classifier.genres
    assert TrainConfig(model="musicnn_mtt_svm", dataset="coarse-mel").resolved().features == "musicnn_mtt_coarse"


def test_for_inference_prunes_a_frozen_musicnn_and_keeps_a_fine_tuned_one_whole():
    from genrekit.models import musicnn, musicnn_prune

    net = transfer.TransferNetwork(n_classes=3).eval()
    torch.nn.init.normal_(net.head.weight, std=0.05)
    clips = torch.from_numpy(np.stack([musicnn_input.patches(musicnn_input.mel_from_audio(music(3.1, seed)))[0].T
                                       for seed in range(4)]))
    with torch.inference_mode():
        whole = net(clips)
    assert net.for_inference() is net and isinstance(net.musicnn, musicnn_prune.PrunedMusicnn)
    with torch.inference_mode():
        torch.testing.assert_close(net(clips), whole, rtol=1e-4, atol=1e-4)

    tuned = transfer.TransferNetwork(n_classes=3).eval()
    with torch.no_grad():
        tuned.musicnn.frontend.timbral_7x38.conv.weight.add_(1e-3)
    tuned.for_inference()
    assert isinstance(tuned.musicnn, musicnn.Musicnn)  # its dead channels are not known: kept whole
    # the training wrapper keeps the weights as trained, for saving
    from genrekit.models.assembly import Network, Standardize

    wrapped = Network(Standardize(torch.zeros(96), torch.ones(96)), transfer.TransferNetwork(n_classes=3), False)
    before = {k: v.clone() for k, v in wrapped.state_dict().items()}
    wrapped.for_inference()
    assert wrapped.state_dict().keys() != before.keys()
    assert all(torch.equal(before[k], v) for k, v in wrapped.training_state().items())


@pytest.mark.slow  # ~15 s idle, 75 s on a loaded machine: musicnn forward and backward on the CPU
def test_fine_tuning_musicnn_end_to_end_moves_its_weights_and_serves_the_whole_network(tmp_path):
    """``musicnn_msd_linear`` trains musicnn and its head by the ordinary loop (one short epoch here); the
    fine-tuned musicnn is served whole (its dead channels are not known)."""
    from genrekit.inference import load_model
    from genrekit.models import musicnn
    from genrekit.training import TrainConfig, load_run, train

    config = TrainConfig(model="musicnn_msd_linear", dataset="synthetic", root=str(tmp_path / "audio"),
                         dataset_options={"n_per_genre": 2, "seconds": 3.2}, split="holdout:1/0/1",
                         cache=str(tmp_path / "cache"), normalize="none", epochs=1, batch_size=10,
                         optimizer={"name": "adam", "lr": 1e-3})
    metrics = train(config, tmp_path / "run", progress=False)
    assert metrics["test"]["n_tracks"] == 10
    tuned, _ = load_run(tmp_path / "run")
    pretrained = musicnn.load("MSD_musicnn").state_dict()
    moved = [k for k, v in tuned.net.musicnn.state_dict().items() if not torch.equal(v, pretrained[k])]
    assert any(k.startswith("frontend.") for k in moved) and any(k.startswith("backend.") for k in moved)
    classifier = load_model(tmp_path / "run", workers=1)
    assert isinstance(classifier.scorer.model.net.musicnn, musicnn.Musicnn)
    [prediction] = classifier.predict([next((tmp_path / "audio").rglob("*.wav"))])
    assert prediction.ok and prediction.genre in classifier.genres
