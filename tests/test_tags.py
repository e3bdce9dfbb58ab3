"""genrekit.tags: musicnn's MSD tags from real audio, against musicnn's own taggram of real GTZAN excerpts."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SAMPLES, SHARED_DATA, noise, tone, write
from genrekit.errors import ConfigError, FeatureError
from genrekit.inference import Prediction
from genrekit.tags import Tagger, top_tags

REFERENCE = SHARED_DATA / "musicnn-reference" / "musicnn_tf_reference.npz"
#: Three of the ten reference clips (each takes a second or two on a CPU).
CLIPS = ("metal.00000", "classical.00000", "pop.00000")


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


@pytest.fixture(scope="module")
def reference_tags(tagger):
    """(ours from the .wav, musicnn's per-patch taggram mean) for :data:`CLIPS`."""
    if not REFERENCE.is_file() or not SAMPLES.is_dir():
        pytest.skip("the GTZAN samples or musicnn's reference outputs are not present")
    with np.load(REFERENCE) as saved:
        clips, taggram = list(saved["clips"]), saved["MSD_musicnn/taggram"]
    return {clip: (tagger.tag_file(SAMPLES / f"{clip}.wav"), taggram[clips.index(clip)].mean(axis=0))
            for clip in CLIPS}


def test_the_port_gives_musicnns_own_taggram_on_the_same_samples(tagger, reference_tags):
    """The network and its front end on the samples musicnn read (no DC offset removed, no silence trimmed)."""
    from genrekit import audio, features

    spec = features.get("musicnn")
    for clip, (_, theirs) in reference_tags.items():
        ours = tagger.taggram(spec.compute(audio.load(SAMPLES / f"{clip}.wav", sr=spec.sr))).mean(axis=0)
        np.testing.assert_allclose(ours, theirs, atol=1e-3, err_msg=clip)


def test_tags_from_audio_match_musicnns_own_taggram(tagger, reference_tags):
    """From the file genrekit reads the music only (genrekit.trim: GTZAN's excerpts have DC offsets up to
    0.018 of full scale, and musicnn's tool keeps them), which moves a tag by a few thousandths."""
    for clip, (ours, theirs) in reference_tags.items():
        assert list(ours) == tagger.tags and len(ours) == 50
        np.testing.assert_allclose(np.array(list(ours.values())), theirs, atol=5e-3, err_msg=clip)


def test_tags_make_sense_on_real_music(reference_tags):
    best = {clip: [tag for tag, _ in top_tags(ours, 5)] for clip, (ours, _) in reference_tags.items()}
    assert {"metal", "heavy metal", "hard rock"} & set(best["metal.00000"]), best
    assert {"classical", "instrumental"} & set(best["classical.00000"]), best
    assert "pop" in best["pop.00000"], best


def test_a_file_is_read_in_windows_and_every_patch_counts(tagger, tmp_path):
    y = np.concatenate([0.3 * tone(220.0, 7.0), noise(7.0, seed=1, amplitude=0.3)])
    path = write(tmp_path / "two_halves.wav", y)
    whole = tagger.tag_file(path)
    windowed = Tagger(window_seconds=6.0).tag_file(path)  # 6 s windows: patches of two windows
    assert list(whole) == tagger.tags and all(0.0 <= p <= 1.0 for p in whole.values())
    assert tagger.tag_array(y, 22050) == pytest.approx(whole, abs=1e-2)  # resampled whole vs streamed
    assert windowed == pytest.approx(whole, abs=0.1)  # the same music, cut differently


def test_taggram_has_one_row_per_patch(tagger):
    assert tagger.taggram(np.zeros((96, 187 * 3 + 20), np.float32)).shape == (3, 50)
    assert tagger.taggram(np.zeros((96, 50), np.float32)).shape == (1, 50)  # padded to one patch
    with pytest.raises(ConfigError, match=r"\[96, frames\]"):
        tagger.taggram(np.zeros((128, 187), np.float32))


def test_a_file_that_cannot_be_tagged_becomes_an_error_and_others_stay(tagger, tmp_path):
    silent = write(tmp_path / "silent.wav", np.zeros(22050 * 4, np.float32))
    with pytest.raises(FeatureError, match="silent"):
        tagger.tag_file(silent)
    prediction = Prediction(str(silent), genre="rock", probabilities={"rock": 1.0})
    tagger.add_tags(prediction)
    assert not prediction.ok and "could not be tagged" in prediction.error and "silent" in prediction.error
    failed = Prediction(str(silent), error="damaged")
    tagger.add_tags(failed)
    assert failed.error == "damaged" and failed.tags is None


def test_top_tags_best_first():
    assert top_tags({"a": 0.1, "b": 0.7, "c": 0.3}, 2) == [("b", 0.7), ("c", 0.3)]


def test_the_pruned_network_tags_as_the_whole_one(tagger, tmp_path):
    from genrekit.models import musicnn_prune

    assert isinstance(tagger.network, musicnn_prune.PrunedMusicnn)
    exact = Tagger(exact=True)
    y = 0.3 * np.sin(2 * np.pi * 330.0 * np.arange(5 * 22050) / 22050) + 0.05 * np.random.default_rng(0).standard_normal(5 * 22050)
    ours, theirs = tagger.tag_array(y.astype(np.float32), 22050), exact.tag_array(y.astype(np.float32), 22050)
    np.testing.assert_allclose(list(ours.values()), list(theirs.values()), atol=1e-5)
