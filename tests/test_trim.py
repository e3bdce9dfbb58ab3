"""genrekit.trim: the DC offset and the silence around the music removed, sample-exact and at any gain."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.trim import Trimmed

SR = 22050


def music(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    y[0] = 0.25  # the music starts (and ends) on a sample well above the threshold
    y[-1] = -0.25
    return y.astype(np.float32)


def blocks(y: np.ndarray, size: int = 5000):
    return [y[i:i + size] for i in range(0, y.shape[0], size)]


def trimmed(y: np.ndarray, size: int = 5000, **kwargs) -> tuple[np.ndarray, Trimmed]:
    stream = Trimmed(blocks(y, size), SR, **kwargs)
    out = [b for b in stream]
    return (np.concatenate(out) if out else np.zeros(0, np.float32)), stream


@pytest.mark.parametrize("before, after", [(0.0, 0.0), (0.5, 0.0), (0.0, 2.0), (5.0, 5.0), (1.2345, 0.001)])
def test_silence_before_and_after_is_dropped_sample_exactly(before, after):
    y = music()
    padded = np.concatenate([np.zeros(int(before * SR), np.float32), y, np.zeros(int(after * SR), np.float32)])
    reference, _ = trimmed(y)
    out, stream = trimmed(padded)
    np.testing.assert_array_equal(out, reference)
    assert stream.lead == int(before * SR) and stream.tail == int(after * SR)
    assert stream.samples == padded.shape[0]


def test_the_offset_is_removed_and_the_silence_found_with_and_without_it():
    y = music()
    # A converter's offset everywhere, and digital zeros an editor put before music with an offset.
    for padded in (np.concatenate([np.zeros(SR), y, np.zeros(SR)]) + 0.05,
                   np.concatenate([np.zeros(SR), y - 0.02, np.zeros(SR)])):
        out, stream = trimmed(padded.astype(np.float32))
        assert stream.lead == SR and stream.tail == SR
        assert abs(out.mean()) < 1e-4
        reference, _ = trimmed(y)
        np.testing.assert_allclose(out, reference, atol=2e-3)


def test_the_threshold_follows_the_gain():
    y = np.concatenate([np.zeros(SR, np.float32), music(), np.zeros(SR, np.float32)])
    for gain in (1.0, 0.1, 0.01):  # 0 dB, -20 dB, -40 dB
        out, stream = trimmed(y * np.float32(gain))
        assert stream.lead == SR and stream.tail == SR, gain


def test_a_pause_inside_the_music_is_kept_and_a_long_one_passed_on():
    y = music(2.0)
    pause = np.zeros(3 * SR, np.float32)
    out, _ = trimmed(np.concatenate([y, pause, y]))
    assert out.shape[0] == 2 * y.shape[0] + pause.shape[0]
    out, _ = trimmed(np.concatenate([y, pause, y]), longest_pause_seconds=1.0)  # memory stays bounded
    assert out.shape[0] == 2 * y.shape[0] + pause.shape[0]


def test_digital_silence_and_nothing_are_passed_on_for_the_caller():
    out, stream = trimmed(np.zeros(3 * SR, np.float32))
    assert out.shape[0] == 3 * SR and not out.any() and stream.lead == 0
    out, stream = trimmed(np.zeros(0, np.float32))
    assert out.shape[0] == 0 and stream.samples == 0


def test_blocks_of_any_size_give_the_same_samples():
    y = np.concatenate([np.zeros(777, np.float32), music(40.0), np.zeros(999, np.float32)])  # past the look-ahead
    reference, _ = trimmed(y, size=SR * 50)
    for size in (1000, 44100, 700000):
        out, stream = trimmed(y, size=size)
        np.testing.assert_array_equal(out, reference)
        assert stream.lead == 777 and stream.tail == 999


def test_music_that_starts_after_a_whole_look_ahead_of_silence():
    y = music()
    for silence in (np.zeros(40 * SR, np.float32), np.full(40 * SR, 0.03, np.float32)):  # zeros; an offset
        out, stream = trimmed(np.concatenate([silence, y + silence[0]]), size=SR)
        assert stream.lead == 40 * SR
        np.testing.assert_allclose(out, trimmed(y)[0], atol=1e-6)


def test_quiet_noise_under_the_silence_floor_is_no_music():
    noise = (1e-5 * np.random.default_rng(1).standard_normal(40 * SR)).astype(np.float32)  # -100 dBFS
    out, stream = trimmed(noise, size=SR)
    assert np.abs(out).max() < 1e-4 and out.shape[0] <= 31 * SR  # the last look-ahead, for the caller to refuse
