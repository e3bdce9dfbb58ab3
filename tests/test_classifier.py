"""genrekit.inference.classifier: a Classifier on arrays, spectrograms and files; bad files reported, memory
bounded."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from conftest import SR, noise, odd_files, pipe_watch, tone, write
from genrekit.features.windows import windows
from genrekit.errors import ConfigError
from genrekit.inference import Prediction, load_model
from genrekit.paths import expand_paths


def music(seconds: float, seed: int = 0) -> np.ndarray:
    """A chord over noise, pulsing: loud enough everywhere, different per seed."""
    rng = np.random.default_rng(seed)
    y = noise(seconds, seed=seed, amplitude=0.05)
    for freq in rng.uniform(100, 1500, size=3):
        y += 0.2 * tone(freq, seconds)
    pulse = 0.6 + 0.4 * (np.sin(2 * np.pi * 2.0 * np.arange(y.shape[0]) / SR) > 0)
    return (y * pulse).astype(np.float32)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two songs, and four files that cannot be classified, each for its own reason."""
    root = tmp_path_factory.mktemp("library")
    write(root / "a_song.wav", music(8.0, seed=1))
    write(root / "b_song.flac", music(6.0, seed=2))
    (root / "c_text.wav").write_text("these are liner notes, not audio\n")
    write(root / "d_empty.wav", np.zeros(0, dtype=np.float32))
    write(root / "e_silent.wav", np.zeros(5 * SR, dtype=np.float32))
    write(root / "f_one_second.wav", music(1.0, seed=3))
    (root / "notes.txt").write_text("not audio, not listed")
    return root


REASONS = {"c_text.wav": "not a recognised audio file", "d_empty.wav": "no audio samples", "e_silent.wav": "silent",
           "f_one_second.wav": "too short"}


def test_predict_array_gives_a_distribution(coarse_model):
    prediction = coarse_model.predict_array(music(7.0), SR)
    assert isinstance(prediction, Prediction) and prediction.ok and prediction.path is None
    assert list(prediction.probabilities) == coarse_model.genres
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.genre == max(prediction.probabilities, key=prediction.probabilities.get)
    assert prediction.top(2)[0][0] == prediction.genre and len(prediction.top(2)) == 2
    assert prediction.seconds == pytest.approx(7.0, abs=0.01)


def test_predict_array_resamples_and_refuses_stereo(coarse_model):
    from genrekit import audio

    y = music(6.0)
    at_44k = audio.resample(y, SR, 2 * SR)
    # coarse_mel scales each window by its own dB minimum, which depends on the edges a
    # round trip through another rate changes, so compare with the same resampling done by hand
    ours = coarse_model.predict_array(at_44k, 2 * SR)
    by_hand = coarse_model.predict_array(audio.resample(at_44k, 2 * SR, SR), SR)
    assert ours.probabilities == pytest.approx(by_hand.probabilities, abs=1e-6)
    assert ours.seconds == pytest.approx(6.0, abs=0.01)
    with pytest.raises(ConfigError, match="mono"):
        coarse_model.predict_array(np.stack([y, y]), SR)


def test_predict_spectrogram_shape_sum_and_errors(coarse_model):
    spec, frames = coarse_model.spec, coarse_model.scorer.frames
    db = spec.compute(music(5.0))
    probabilities = coarse_model.predict_spectrogram(db)
    assert probabilities.shape == (len(coarse_model.genres),) and probabilities.dtype == np.float32
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    # From audio, a 5 s signal is read at four column phases and all their clips combined by the model's rule;
    # the first phase is this spectrogram (up to the music's DC offset, removed first).
    found = list(windows(music(5.0), SR, spec))
    assert len(found) == 4
    np.testing.assert_allclose(probabilities, coarse_model.predict_spectrogram(found[0].features), atol=1e-3)
    combined = coarse_model._combine(np.concatenate(coarse_model.scorer(found)))
    np.testing.assert_allclose(combined, list(coarse_model.predict_array(music(5.0), SR).probabilities.values()),
                               atol=1e-5)
    with pytest.raises(ConfigError, match=f"fewer than one clip of {frames}"):
        coarse_model.predict_spectrogram(db[:, : frames - 1])
    with pytest.raises(ConfigError, match=f"shape \\[{spec.bands}, T\\]"):
        coarse_model.predict_spectrogram(db[:-1])
    with pytest.raises(ConfigError, match="NaN"):
        coarse_model.predict_spectrogram(np.full_like(db, np.nan))


def test_predict_files_equals_predict_array(coarse_model, folder):
    (from_file,) = coarse_model.predict(folder / "a_song.wav")
    from_array = coarse_model.predict_array(sf.read(str(folder / "a_song.wav"), dtype="float32")[0], SR)
    assert from_file.path == str(folder / "a_song.wav")
    np.testing.assert_allclose(list(from_file.probabilities.values()), list(from_array.probabilities.values()),
                               atol=1e-5)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_folder_with_bad_files_reports_each_by_name_and_classifies_the_rest(coarse_model, folder, workers):
    load_model_workers = load_model(coarse_model.info["source"], workers=workers)
    seen = []
    predictions = load_model_workers.predict(folder, on_result=lambda i, p: seen.append(i))
    assert [p.path for p in predictions] == expand_paths([folder])  # input order, whatever finished first
    assert sorted(seen) == list(range(len(predictions)))
    by_name = {p.path.rsplit("/", 1)[-1]: p for p in predictions}
    assert set(by_name) == {"a_song.wav", "b_song.flac", *REASONS}
    for name in ("a_song.wav", "b_song.flac"):
        assert by_name[name].ok and by_name[name].genre in coarse_model.genres
    for name, reason in REASONS.items():
        prediction = by_name[name]
        assert not prediction.ok and prediction.genre is None and reason in prediction.error, (name, prediction)
        assert prediction.to_dict() == {"path": prediction.path, "error": prediction.error}
    assert "at least" in by_name["f_one_second.wav"].error  # says what to do


@pytest.mark.parametrize("in_workers", [True, False], ids=["scored-in-workers", "scored-here"])
def test_both_scoring_places_give_the_same_answers_and_name_bad_files(folder, in_workers):
    """The bundled v2 scores in its worker processes (musicnn costs more than featurising); v1 here."""
    classifier = load_model(workers=2)
    assert classifier.score_in_workers and not load_model("genrekit-coarse-mel-v2").score_in_workers
    classifier.score_in_workers = in_workers
    by_name = {p.path.rsplit("/", 1)[-1]: p for p in classifier.predict(folder)}
    for name, reason in REASONS.items():
        assert reason in by_name[name].error
    for name in ("a_song.wav", "b_song.flac"):
        (alone,) = load_model(workers=1).predict(folder / name)  # one process, no workers
        np.testing.assert_allclose(list(by_name[name].probabilities.values()), list(alone.probabilities.values()),
                                   atol=1e-5)


def test_results_follow_the_input_order(coarse_model, folder):
    order = [folder / "b_song.flac", folder / "e_silent.wav", folder / "a_song.wav"]
    assert [p.path for p in coarse_model.predict(order)] == [str(p) for p in order]


def test_a_missing_file_is_an_error_entry_not_an_exception(coarse_model, tmp_path):
    (prediction,) = coarse_model.predict([tmp_path / "nope.mp3"])
    assert not prediction.ok and str(tmp_path / "nope.mp3") == prediction.path and prediction.error


def test_timeline_of_a_ten_minute_file_in_bounded_memory(coarse_model, tmp_path):
    minutes = 10
    path = tmp_path / "long.wav"
    with sf.SoundFile(str(path), "w", samplerate=SR, channels=1, subtype="PCM_16") as out:
        for minute in range(minutes):  # each minute its own chord, written a minute at a time
            out.write(music(60.0, seed=minute))
    decoded_bytes = minutes * 60 * SR * 4  # float32 samples
    classifier = load_model(coarse_model.info["source"], workers=1)
    tracemalloc.start()
    try:
        (prediction,) = classifier.predict(path, timeline=True, segment_seconds=30.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prediction.ok and prediction.seconds == pytest.approx(minutes * 60, abs=0.1)
    # A few 30 s windows in memory (the decoder's block, the look-ahead that finds the music's start and offset,
    # the window being featurised and its re-cut), whatever the length: 8 windows of float32 samples, 21 MB,
    # against 53 MB decoded.
    window_bytes = 30 * SR * 4
    assert peak < 8 * window_bytes < decoded_bytes / 2, f"peak {peak / 1e6:.1f} MB for {decoded_bytes / 1e6:.1f} MB of audio"
    timeline = prediction.timeline
    assert len(timeline) == minutes * 2
    # Consecutive 30 s segments covering the file, without gaps or overlaps.
    assert [(s.start, s.end) for s in timeline] == [(30.0 * k, 30.0 * (k + 1)) for k in range(minutes * 2)]
    for segment in timeline:
        assert segment.genre in classifier.genres
        assert sum(segment.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.to_dict()["timeline"][1]["start"] == pytest.approx(30.0, abs=0.1)


def test_pipes_devices_and_bad_links_from_folders_and_patterns_are_refused_by_name(coarse_model, tmp_path):
    write(tmp_path / "song.wav", music(5.0))
    (tmp_path / "sub").mkdir()
    reasons = odd_files(tmp_path)
    expected = sorted(str(tmp_path / name) for name in [*reasons, "song.wav"])
    assert sorted(expand_paths([tmp_path])) == expected
    assert sorted(expand_paths([str(tmp_path / "*")])) == expected  # the folder "sub" is left out
    with pipe_watch(tmp_path / "pipe.wav") as opened:
        predictions = {p.path.rsplit("/", 1)[-1]: p for p in coarse_model.predict(str(tmp_path / "*"))}
    assert not opened and predictions["song.wav"].ok
    for name, says in reasons.items():
        assert says in predictions[name].error, (name, predictions[name].error)


def test_a_song_gets_the_same_answer_alone_and_in_a_library(coarse_model, tmp_path):
    """The same function reads every file, whichever others come with it: the silence trimmed and the column
    phases decided from the file alone (a 20 s song: 6 phases capped at 4; a 3-minute one: 1)."""
    short = write(tmp_path / "library" / "a" / "short.wav", np.concatenate([np.zeros(SR, np.float32), music(20.0, seed=2)]))
    long = write(tmp_path / "library" / "b" / "long.wav", music(180.0, seed=3))
    for seed in range(3):
        write(tmp_path / "library" / "c" / f"other{seed}.wav", music(40.0, seed=10 + seed))
    classifier = load_model(coarse_model.info["source"], workers=2)
    library = {p.path: p for p in classifier.predict(tmp_path / "library")}
    for path in (short, long):
        (alone,) = load_model(coarse_model.info["source"], workers=1).predict([path])
        assert alone.genre == library[str(path)].genre
        assert alone.probabilities == pytest.approx(library[str(path)].probabilities, abs=1e-5)
