"""genrekit.features.clips: clip counts, overlap, padding policy, random crops."""

from __future__ import annotations

import numpy as np
import pytest

from genrekit.errors import FeatureError
from genrekit.features import clips


def features(n_frames=1293, bands=3):
    return np.tile(np.arange(n_frames, dtype=np.float32), (bands, 1)) + np.arange(bands)[:, None] * 10000


@pytest.mark.parametrize("frames,hop,expected", [(128, 64, 19), (128, 65, 18), (128, 128, 10), (256, 128, 9),
                                                 (1293, 1, 1), (1294, 1, 0)])
def test_clip_counts_of_a_30_s_track(frames, hop, expected):
    assert clips.n_clips(1293, frames, hop) == expected


def test_clips_are_the_right_frames():
    cut = clips.clip_frames(features(), 128, 65)
    assert cut.shape == (18, 3, 128)
    np.testing.assert_array_equal(cut[2, 0], np.arange(130, 258))
    np.testing.assert_array_equal(cut[2, 1], np.arange(130, 258) + 10000)
    np.testing.assert_array_equal(clips.clip_starts(1293, 128, 65)[:3], [0, 65, 130])


def test_short_track_pads_with_its_minimum_or_is_rejected():
    short = features(80) - 80.0
    padded = clips.clip_frames(short, 128, 64, short="pad")
    assert padded.shape == (1, 3, 128)
    np.testing.assert_array_equal(padded[0, :, :80], short)
    assert (padded[0, :, 80:] == short.min()).all()
    with pytest.raises(FeatureError, match="song.wav.*80 frames.*128"):
        clips.clip_frames(short, 128, 64, short="reject", name="song.wav")


def test_under_half_a_clip_is_refused_under_every_policy():
    assert clips.min_frames(128, "pad") == 64 and clips.min_frames(39, "pad") == 20
    assert clips.min_frames(128, "reject") == 128
    clips.check_length(64, 128, "pad")  # half a clip: padded
    for short in clips.SHORT_POLICIES:
        with pytest.raises(FeatureError, match="song.wav: too short: 0.63 s.*(0.64 s|1.28 s)"):
            clips.check_length(63, 128, short, "song.wav", hop_seconds=0.01)
        with pytest.raises(FeatureError, match="too short"):
            clips.clip_frames(features(63), 128, 64, short=short)
        with pytest.raises(FeatureError, match="too short"):
            clips.random_clip(features(63), 128, np.random.default_rng(0), short=short)


def test_random_clip_is_a_window_of_the_track_and_covers_it():
    rng = np.random.default_rng(0)
    track = features(300, bands=1)
    starts = set()
    for _ in range(200):
        crop = clips.random_clip(track, 256, rng)
        assert crop.shape == (1, 256)
        start = int(crop[0, 0])
        np.testing.assert_array_equal(crop[0], np.arange(start, start + 256))
        starts.add(start)
    assert min(starts) == 0 and max(starts) == 44 and len(starts) > 30


def test_clip_spec_validates():
    spec = clips.ClipSpec(128, 64)
    assert spec.short == "pad"
    with pytest.raises(Exception):
        clips.ClipSpec(128, 0)
