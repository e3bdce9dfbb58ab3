"""genrekit.inference.loading: run directories, model files and the bundled models load as classifiers."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import ConfigError, GenrekitError
from genrekit.inference import load_model
from test_classifier import music


def test_model_files_round_trip_and_bad_sources_are_named(coarse_model, tmp_path):
    path = coarse_model.save(tmp_path / "model.pt", card={"name": "tiny"})
    reloaded = load_model(path)
    db = coarse_model.spec.compute(music(4.0))
    np.testing.assert_allclose(reloaded.predict_spectrogram(db), coarse_model.predict_spectrogram(db), atol=1e-6)
    assert reloaded.info["card"] == {"name": "tiny"} and reloaded.model_id.startswith("model@")
    with pytest.raises(GenrekitError, match="no such model file"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(GenrekitError, match="junk.pt: not a genrekit model file"):
        load_model(tmp_path / "junk.pt")
    with pytest.raises(ConfigError, match="backend"):
        load_model(coarse_model.info["source"], backend="tensorflow")


# The bundled model -----------------------------------------------------------------------------------
def test_the_bundled_model_loads_with_no_argument():
    import genrekit

    classifier = genrekit.load_model()
    assert classifier.model_id.startswith("genrekit-musicnn-v3@")
    assert classifier.genres == ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop",
                                 "reggae", "rock"]
    assert classifier.spec.kind == "musicnn_coarse" and classifier.rule == "geomean"
    card = classifier.info["card"]
    assert card["validation_tracks"] == 197 and card["validation_ci95"][0] < card["validation_track_accuracy"]
    for columns in (39, 387, 1000):  # the coarse-mel representation it is made from, any length of one clip
        probabilities = classifier.predict_spectrogram(np.full((128, columns), -40.0, np.float32))
        assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ConfigError, match=r"\[96, T\] or \[128, T\]"):
        classifier.predict_spectrogram(np.zeros((64, 400), np.float32))


def test_the_bundled_model_scores_with_the_pruned_musicnn_and_saves_as_trained(tmp_path):
    from genrekit import load_model
    from genrekit.models import musicnn, musicnn_prune

    fast, exact = load_model(), load_model(exact=True)
    assert isinstance(fast.scorer.model.net.musicnn, musicnn_prune.PrunedMusicnn)
    assert isinstance(exact.scorer.model.net.musicnn, musicnn.Musicnn)
    db = np.random.default_rng(0).uniform(-60, 0, (128, 200)).astype(np.float32)
    np.testing.assert_allclose(fast.predict_spectrogram(db), exact.predict_spectrogram(db), atol=1e-4)
    again = load_model(fast.save(tmp_path / "v2.pt"))  # saved with the weights as trained, and its rule
    assert again.rule == "geomean" and isinstance(again.scorer.model.net.musicnn, musicnn_prune.PrunedMusicnn)
    np.testing.assert_array_equal(again.predict_spectrogram(db), fast.predict_spectrogram(db))


def _dev_decisions(classifier, collection, ids) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.stack([classifier.predict_spectrogram(collection.features[i]) for i in ids])
    return probabilities, probabilities.argmax(axis=1)


@pytest.mark.shared_data
@pytest.mark.parametrize("every", [pytest.param(False, id="20-tracks"), pytest.param(True, id="all-639",
                                                                                     marks=pytest.mark.slow)])
def test_the_pruned_bundled_model_decides_as_the_whole_network_on_dev_tracks(coarse_mel_dir, every):
    """Issue 12: the pruned network gives the same decisions on the dev tracks (all 639 with ``make test-all``,
    ~5 min; 20 in the default run)."""
    from genrekit import datasets, load_model

    collection = datasets.load("coarse-mel", coarse_mel_dir)
    ids = [t.id for t in collection][:: 1 if every else 32]
    fast, fast_decisions = _dev_decisions(load_model(), collection, ids)
    exact, exact_decisions = _dev_decisions(load_model(exact=True), collection, ids)
    np.testing.assert_array_equal(fast_decisions, exact_decisions)
    np.testing.assert_allclose(fast, exact, atol=1e-4)


def test_the_small_bundled_model_loads_by_name():
    from genrekit import load_model

    classifier = load_model("genrekit-coarse-mel-v2")
    assert classifier.model_id.startswith("genrekit-coarse-mel-v2@") and classifier.spec.kind == "coarse_mel"
    assert classifier.rule == "mean" and classifier.spec.max_hz == 10500 and not classifier.spec.stretch


@pytest.mark.shared_data
def test_the_bundled_model_reaches_its_cards_accuracy_on_the_real_arrays(coarse_mel_dir):
    """The model card's validation accuracy, recomputed from the real coarse-mel arrays (fp32 here, bf16 in
    training: equal to within one track of 197)."""
    from genrekit import datasets, load_model

    classifier = load_model("genrekit-coarse-mel-v2")  # v3's valid tracks are in its final fit (docs/models.md)
    collection = datasets.load("coarse-mel", coarse_mel_dir)
    valid = [t for t in collection if collection.parts[t.id] == "valid"]
    assert len(valid) == classifier.info["card"]["validation_tracks"] == 197
    right = sum(classifier.genres[int(np.argmax(classifier.predict_spectrogram(collection.features[t.id])))] == t.genre
                for t in valid)
    assert abs(right / len(valid) - classifier.info["card"]["validation_track_accuracy"]) <= 1 / 197 + 1e-9


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["genrekit-musicnn-v3", "genrekit-coarse-mel-v2"])
def test_the_bundled_model_gives_the_same_answer_from_audio_and_from_the_array(coarse_mel_dir, samples_dir, name):
    """A file's first column phase is the array's representation (within an 8-bit step or two: the music's DC
    offset is removed); all four phases of a 30 s excerpt, what users get, stay near it."""
    from genrekit import datasets, load_model
    from genrekit.features.windows import file_windows

    classifier = load_model(name)
    collection = datasets.load("coarse-mel", coarse_mel_dir)
    for name in ("blues.00000", "classical.00000", "metal.00000"):  # real excerpts that are in both
        path = samples_dir / f"{name}.wav"
        first = next(iter(file_windows(path, classifier.spec)))
        (from_audio,) = classifier.predict([path])
        from_array = classifier.predict_spectrogram(collection.features[name])
        np.testing.assert_allclose(classifier.predict_spectrogram(first.features), from_array, atol=0.01)
        np.testing.assert_allclose(list(from_audio.probabilities.values()), from_array, atol=0.05)


def test_the_replaced_bundled_models_are_named_with_their_successors():
    from genrekit import load_model

    for old, new in (("genrekit-musicnn-v2", "genrekit-musicnn-v3"), ("genrekit-coarse-mel-v1", "genrekit-coarse-mel-v2")):
        with pytest.raises(GenrekitError, match=f"replaced by {new}"):
            load_model(old)


# The clip-to-track rule ------------------------------------------------------------------------------
def test_a_run_evaluated_by_majority_vote_is_served_by_it_as_a_run_a_model_file_and_an_onnx_file(
        coarse_run, coarse_model, tmp_path):
    """Issue 13: the rule a run was evaluated with (zhang2016's recipe: the majority vote) travels from training
    to the Classifier, into the model file and the ONNX file, and decides the predictions; ``rule=`` overrides it."""
    from genrekit import aggregation
    from genrekit.export import export_onnx
    from genrekit.features.windows import Window
    from genrekit.inference import read_metadata, read_model, save_model

    assert coarse_model.info["config"]["aggregation"] == "vote"  # what training recorded in the run
    assert coarse_model.rule == "vote"
    from_run = save_model(coarse_run, tmp_path / "from-run.pt")
    saved = coarse_model.save(tmp_path / "saved.pt")
    for path in (from_run, saved):
        assert read_model(path)["rule"] == "vote" and load_model(path).rule == "vote"
    onnx_file = export_onnx(coarse_run, tmp_path / "run.onnx")
    assert read_metadata(onnx_file)["rule"] == "vote"

    db = coarse_model.spec.compute(music(6.0, seed=4))
    for classifier in (coarse_model, load_model(from_run), load_model(onnx_file)):
        assert classifier.rule == "vote"
        (clips,) = classifier.scorer([Window(0.0, 6.0, db)])
        assert clips.shape[0] > 2
        votes = aggregation.vote(clips)
        np.testing.assert_allclose(classifier.predict_spectrogram(db), votes / votes.sum(), atol=1e-6)
        assert not np.allclose(votes / votes.sum(), clips.mean(axis=0), atol=1e-3)  # a different answer
    by_mean = load_model(coarse_run, rule="mean")
    (clips,) = by_mean.scorer([Window(0.0, 6.0, db)])
    assert by_mean.rule == "mean"
    np.testing.assert_allclose(by_mean.predict_spectrogram(db), clips.mean(axis=0), atol=1e-6)
    assert load_model(onnx_file, rule="mean").rule == load_model(from_run, rule="mean").rule == "mean"
    with pytest.raises(ConfigError, match="unknown clip-to-track rule 'median'"):
        load_model(coarse_run, rule="median")


def test_a_classical_run_is_served_with_its_rule(tmp_path):
    """Wang's baselines are evaluated by the majority vote over a track's segments; so are they served."""
    from genrekit import training
    from test_training import toy_tracks

    config = training.TrainConfig(model="knn", features="coarse_mel")
    training.fit_classical(config, ["a", "b", "c"], toy_tracks(4, seed=1), toy_tracks(1, seed=2),
                           toy_tracks(1, seed=3), 1, 1, tmp_path / "knn", progress=False)
    classifier = load_model(tmp_path / "knn")
    assert classifier.info["config"]["aggregation"] == classifier.rule == "vote"
    assert load_model(tmp_path / "knn", rule="mean").rule == "mean"
