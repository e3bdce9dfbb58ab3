"""genrekit.datasets.gtzan_coarse_mel, and the coarse_mel preset that computes the same arrays from audio."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import noise
from genrekit import audio, datasets, features
from genrekit.datasets import GENRES, splits
from genrekit.datasets.gtzan_coarse_mel import reaches_floor, to_db, with_floor
from genrekit.errors import DatasetError


def test_to_db():
    np.testing.assert_allclose(to_db(np.array([0, 255, 51], np.uint8)), [-80.0, 0.0, -64.0], atol=1e-5)
    # Read with another floor: the same levels span floor..0 dB (a scale factor on the -80 reading).
    np.testing.assert_allclose(with_floor(to_db(np.array([0, 255, 51], np.uint8)), -70.0), [-70.0, 0.0, -56.0],
                               atol=1e-5)
    assert reaches_floor(to_db(np.array([[0, 255]], np.uint8)))
    assert not reaches_floor(to_db(np.array([[1, 255]], np.uint8)))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="gtzan_coarse_mel_dev.npz"):
        datasets.coarse_mel(tmp_path)


def test_coarse_mel_spec_on_generated_audio():
    spec = features.get("coarse_mel")
    thirty = spec.compute(noise(30.0, amplitude=0.2))
    assert thirty.shape == (128, 387) and thirty.max() <= 0.0 and thirty.min() >= -80.0  # columns sample frames
    levels = (thirty + 80.0) * 255.0 / 80.0
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)  # 8-bit levels
    assert spec.compute(noise(3.0)).shape == (128, 39)
    assert spec.compute(noise(10.0)).shape == (128, 129)
    assert spec.compute(noise(60.0)).shape == (128, 774)
    assert spec.n_frames(30 * 22050) == 387


def test_loads_the_real_arrays(coarse_mel_dir):
    collection = datasets.load("coarse-mel", coarse_mel_dir)
    assert len(collection) == 639 and collection.genres == GENRES
    assert collection.counts()["blues"] == 69 and collection.counts()["pop"] == 54
    assert "jazz.00054" not in collection
    values = collection.features["blues.00000"]
    assert values.shape == (128, 387) and values.dtype == np.float32 and values.max() == 0.0
    assert sum(1 for p in collection.parts.values() if p == "train") == 442
    split = splits.parse("filtered:dev", collection)[0]
    assert len(split.test) == 197 and len(split.train) + len(split.valid) == 442
    assert not {t.id for t in split.valid} & {t.id for t in split.train}


def test_front_end_reproduces_the_arrays_from_audio(coarse_mel_dir, samples_dir):
    """The README's recipe (``stretch=True``: levels between the clip's quietest cell and its maximum), through
    genrekit's own decoding and spectral code; the fixed scale of the preset gives the same arrays for every clip
    whose quietest cell reaches the 80 dB floor, and for the two that do not (country, disco) the arrays read
    with the clip's own floor."""
    collection = datasets.coarse_mel(coarse_mel_dir)
    stretched = features.get("coarse_mel").replace(stretch=True)
    checked, reach_floor = 0, []
    for path in sorted(samples_dir.glob("*.wav")):
        name = path.stem
        if name not in collection:  # hiphop.00000 and pop.00000 are on the test list
            continue
        y = audio.load(path)
        ours = stretched.compute(y)
        reference = collection.features[name]
        assert ours.shape == reference.shape
        differing = np.abs(ours - reference) > 1e-4
        # One 8-bit step (0.31 dB) on a quantisation boundary in at most a few cells of 49,536.
        assert differing.sum() <= 3, name
        assert np.abs(ours - reference).max() <= 80.0 / 255.0 + 1e-4
        fixed = features.get("coarse_mel").compute(y)
        if reaches_floor(reference):
            reach_floor.append(name)
            assert np.abs(fixed - reference).max() <= 80.0 / 255.0 + 1e-4, name
        else:  # read with the clip's own floor, the array is the fixed scale's (within two 8-bit steps)
            scale = reference / -80.0  # with_floor(reference, m) == m * scale
            floor = float((scale * fixed).sum() / (scale * scale).sum())
            assert -80.0 < floor < -60.0, name
            assert np.abs(with_floor(reference, floor) - fixed).max() <= 2 * 80.0 / 255.0 + 1e-4, name
        checked += 1
    assert checked == 8 and len(reach_floor) == 6 and "country.00000" not in reach_floor
