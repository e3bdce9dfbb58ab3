"""genrekit.datasets.gtzan_coarse_mel, and the coarse_mel preset that computes the same arrays from audio."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import noise
from genrekit import audio, datasets, features
from genrekit.datasets import GENRES, splits
from genrekit.datasets.gtzan_coarse_mel import reaches_floor, to_db, with_floor
from genrekit.errors import ConfigError, DatasetError


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
        fixed_spec = features.get("coarse_mel")
        fixed = fixed_spec.compute(y)
        # The columns both grids show the same frame of (all for a clip of 1293 frames, the first 40 or more for
        # country's 1296 and disco's 1298: the images stretched those over 387 columns).
        n = 1 + y.shape[0] // 512
        width = min(fixed.shape[1], 387)
        same = np.flatnonzero(fixed_spec.columns(n)[:width] == stretched.columns(n)[:width])
        assert same.size >= 40, name
        if reaches_floor(reference):
            reach_floor.append(name)
            assert np.abs(fixed[:, same] - reference[:, same]).max() <= 80.0 / 255.0 + 1e-4, name
        else:  # read with the clip's own floor, the array is the fixed scale's (within two 8-bit steps)
            scale = reference[:, same] / -80.0  # with_floor(reference, m) == m * scale
            floor = float((scale * fixed[:, same]).sum() / (scale * scale).sum())
            assert -80.0 < floor < -60.0, name
            assert np.abs(with_floor(reference, floor)[:, same] - fixed[:, same]).max() <= 2 * 80 / 255 + 1e-4, name
        checked += 1
    assert checked == 8 and len(reach_floor) == 6 and "country.00000" not in reach_floor


def test_one_quiet_cell_does_not_rescale_the_fixed_scale():
    """The fixed scale: a cell's level depends on its value and the clip's maximum only. The images' stretch
    (stretch=True) moved every level of a clip that did not reach the floor when a quiet moment was added."""
    y = noise(10.0, amplitude=0.2)
    y[22050:22050 + 4096] *= 4.0  # the loudest cell, at 1 s
    fixed, stretched = features.get("coarse_mel"), features.get("coarse_mel").replace(stretch=True)
    quieter = y.copy()
    quieter[5 * 22050:5 * 22050 + 4096] *= 1e-4  # a quiet 0.2 s in the middle
    a, b = fixed.compute(y), fixed.compute(quieter)
    far = np.r_[0:50, 80:129]  # columns well away from the quiet moment
    np.testing.assert_array_equal(a[:, far], b[:, far])
    assert np.abs(stretched.compute(y)[:, far] - stretched.compute(quieter)[:, far]).max() > 5.0


def test_columns_keep_one_stride_whatever_the_length():
    spec = features.get("coarse_mel")
    n = 1293  # a 30 s excerpt's frames: the images' columns exactly
    np.testing.assert_array_equal(spec.columns(n), spec.replace(stretch=True).columns(n))
    # One frame fewer (661,504 -> 661,503 samples) moves no column; the images' stretch moved half of them.
    np.testing.assert_array_equal(spec.columns(n - 1), spec.columns(n)[:spec.columns(n - 1).size])
    moved = spec.replace(stretch=True).columns(n - 1) != spec.replace(stretch=True).columns(n)
    assert moved.mean() > 0.3
    # A phase starts the grid later by that fraction of a stride (1293 / 387.5 frames).
    half = spec.replace(phase=0.5).columns(n)
    assert half.size == 387 and np.all(half >= spec.columns(n)) and np.all(half - spec.columns(n) <= 2)
    with pytest.raises(ConfigError, match="phase"):
        spec.replace(phase=1.0)
    with pytest.raises(ConfigError, match="no phase"):
        spec.replace(stretch=True, phase=0.5)


def test_bands_above_max_hz_are_unread_from_audio_and_in_held_arrays():
    spec = features.get("coarse_mel").replace(max_hz=10500)
    np.testing.assert_array_equal(spec.unread_bands(), [126, 127])
    assert features.get("coarse_mel").unread_bands().size == 0
    db = spec.compute(noise(5.0, amplitude=0.2))
    assert np.all(db[126:] == -80.0) and db[125].max() > -80.0
    held = np.zeros((128, 10), np.float32)
    conformed = spec.conform(held)
    assert np.all(conformed[126:] == -80.0) and np.all(conformed[:126] == 0.0) and np.all(held == 0.0)
    with pytest.raises(ConfigError, match="max_hz"):
        spec.replace(max_hz=-1.0)


def test_the_phases_from_one_stft_equal_each_phase_computed_alone():
    y = noise(7.3, amplitude=0.2)
    for spec in (features.get("coarse_mel"), features.get("coarse_mel").replace(max_hz=10500),
                 features.get("musicnn_coarse")):
        together = spec.compute_phases(y, 3)
        assert len(together) == 3
        for k, values in enumerate(together):
            np.testing.assert_array_equal(values, spec.replace(phase=k / 3).compute(y))
