"""Feature windows of files of any length (genrekit.features.windows)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SR, noise, tone, write
from genrekit import audio
from genrekit.features import get
from genrekit.features.windows import file_windows, read_windows, windows

SPEC = get("coarse_mel")


def test_windows_cover_the_file_and_equal_featurising_each_block(tmp_path):
    y = noise(70.0, seed=1)
    path = write(tmp_path / "long.wav", y)
    y = audio.load(path)  # as decoded (16-bit)
    found = list(file_windows(path, SPEC, window_seconds=30.0))
    # 70 s = 30 + 30 + a 10 s tail; the tail is shorter than half a window, so it joins the
    # window before it: 0-30 s and 30-70 s.
    assert [round(w.start, 3) for w in found] == [0.0, 30.0]
    assert [round(w.seconds, 3) for w in found] == [30.0, 40.0]
    np.testing.assert_array_equal(found[0].features, SPEC.compute(y[:30 * SR]))
    np.testing.assert_allclose(found[1].features, SPEC.compute(y[30 * SR:]), atol=0.32)  # one 8-bit step
    assert found[0].features.shape == (128, 387)


def test_a_long_tail_is_its_own_window_and_arrays_match_files(tmp_path):
    y = noise(50.0, seed=2)
    from_array = list(windows(y, SR, SPEC, window_seconds=30.0))
    assert [round(w.start, 3) for w in from_array] == [0.0, 30.0]
    assert round(from_array[1].seconds, 3) == 20.0
    from_file = list(file_windows(write(tmp_path / "f.wav", y), SPEC, window_seconds=30.0))
    assert len(from_file) == 2
    np.testing.assert_allclose(from_file[1].features, from_array[1].features, atol=0.32)


def test_a_gtzan_excerpt_just_over_30_s_is_one_window_like_in_training(tmp_path):
    y = noise(661794 / SR, seed=4)  # GTZAN's usual length, 30.013 s
    path = write(tmp_path / "excerpt.wav", y)
    (window,) = file_windows(path, SPEC)
    np.testing.assert_array_equal(window.features, SPEC.compute(audio.load(path)))


def test_resampled_input():
    y = tone(440.0, seconds=5.0, sr=44100)
    (window,) = windows(y, 44100, SPEC)
    assert window.features.shape[0] == 128 and round(window.seconds, 2) == 5.0


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
