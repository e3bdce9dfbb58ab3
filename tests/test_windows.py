"""Feature windows of files of any length (genrekit.features.windows)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, noise, tone, write
from genrekit import audio
from genrekit.features import get
from genrekit.features.windows import file_windows, phases_for, read_windows, windows

SPEC = get("coarse_mel")


def test_windows_cover_the_file_and_equal_featurising_each_block(tmp_path):
    y = noise(130.0, seed=1)
    path = write(tmp_path / "long.wav", y)
    y = audio.load(path)  # as decoded (16-bit)
    found = list(file_windows(path, SPEC, window_seconds=30.0))
    # 130 s = 4 x 30 + a 10 s tail; the tail is shorter than half a window, so it joins the window
    # before it. Over 120 s of music: one column phase.
    assert [round(w.start, 3) for w in found] == [0.0, 30.0, 60.0, 90.0]
    assert [round(w.seconds, 3) for w in found] == [30.0, 30.0, 30.0, 40.0]
    # Equal to featurising each block (the DC offset of the music removed first: an 8-bit step at most).
    np.testing.assert_allclose(found[0].features, SPEC.compute(y[:30 * SR]), atol=0.32)
    np.testing.assert_allclose(found[3].features, SPEC.compute(y[90 * SR:]), atol=0.32)
    assert found[0].features.shape == (128, 387)


def test_a_long_tail_is_its_own_window_and_arrays_match_files(tmp_path):
    y = noise(50.0, seed=2)
    from_array = list(windows(y, SR, SPEC, window_seconds=30.0))
    # 50 s = 30 + 20: two windows, each at three column phases (50 s is under 120 s of music).
    assert [round(w.start, 3) for w in from_array] == [0.0] * 3 + [30.0] * 3
    assert round(from_array[-1].seconds, 3) == 20.0
    from_file = list(file_windows(write(tmp_path / "f.wav", y), SPEC, window_seconds=30.0))
    assert len(from_file) == 6
    for a, b in zip(from_file, from_array):
        np.testing.assert_allclose(a.features, b.features, atol=0.32)


def test_a_gtzan_excerpt_just_over_30_s_is_one_window_like_in_training(tmp_path):
    y = noise(661794 / SR, seed=4)  # GTZAN's usual length, 30.013 s
    path = write(tmp_path / "excerpt.wav", y)
    found = list(file_windows(path, SPEC))
    assert len(found) == 4 and {w.seconds for w in found} == {661794 / SR}  # one window, four column phases
    decoded = audio.load(path)
    np.testing.assert_allclose(found[0].features, SPEC.compute(decoded - decoded.mean()), atol=1e-6)


def test_resampled_input():
    y = tone(440.0, seconds=5.0, sr=44100)
    found = list(windows(y, 44100, SPEC))
    assert found[0].features.shape[0] == 128 and round(found[0].seconds, 2) == 5.0


@pytest.mark.parametrize("make, message", [
    (lambda p: write(p, np.zeros(5 * SR, np.float32)), "silent"),
    (lambda p: write(p, noise(1.0)), "too short"),
    (lambda p: (p.write_bytes(b"not audio at all" * 100), p)[1], "not"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty"),
])
def test_bad_files_are_named_with_a_reason(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(Exception) as caught:
        list(file_windows(path, SPEC))
    assert str(path) in str(caught.value) and message in str(caught.value).lower()
    outcome = read_windows(path, SPEC)
    assert isinstance(outcome, str) and message in outcome.lower() and str(path) not in outcome


def test_silence_and_an_offset_around_the_music_give_the_same_windows(tmp_path):
    """The windows are cut from the music: its start in the file moves Window.start, nothing else."""
    y = noise(12.0, seed=5, amplitude=0.3)
    reference = list(windows(y, SR, SPEC))
    padded = np.concatenate([np.zeros(2 * SR, np.float32), y, np.zeros(3 * SR, np.float32)])
    for signal in (padded, padded + np.float32(0.05)):
        found = list(windows(signal, SR, SPEC))
        assert [round(w.start, 6) for w in found] == [round(w.start + 2.0, 6) for w in reference]
        assert [w.seconds for w in found] == [w.seconds for w in reference]
        for a, b in zip(found, reference):
            np.testing.assert_allclose(a.features, b.features, atol=0.32)  # an 8-bit step at most


def test_short_recordings_are_read_at_several_phases():
    assert [phases_for(SPEC, s) for s in (3.0, 30.0, 40.0, 60.0, 119.0, 120.0, 600.0)] == [4, 4, 3, 2, 2, 1, 1]
    assert phases_for(get("yang2019"), 30.0) == 1  # a spec without a column grid
    found = list(windows(noise(30.0, seed=6), SR, SPEC))
    assert len(found) == 4 and len({w.start for w in found}) == 1
    assert not np.array_equal(found[0].features, found[1].features)
    y = noise(30.0, seed=6)
    np.testing.assert_allclose(found[2].features, SPEC.replace(phase=0.5).compute(y - y.mean()), atol=1e-6)
    long = list(windows(noise(130.0, seed=7), SR, SPEC))
    assert [round(w.start, 3) for w in long] == [0.0, 30.0, 60.0, 90.0]  # 130 s: one phase, the tail joined
