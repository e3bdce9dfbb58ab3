"""genrekit.datasets.base: Track and TrackCollection."""

from __future__ import annotations


import numpy as np
import pytest

from conftest import noise, write
from genrekit.datasets import Track, TrackCollection
from genrekit.errors import DatasetError


def test_collection_behaves_as_a_sequence(tmp_path):
    tracks = tuple(Track(f"g{i % 2}/{i}", f"/x/{i}.wav", f"g{i % 2}") for i in range(6))
    collection = TrackCollection("test", "/x", tracks, ("g0", "g1"))
    assert len(collection) == 6 and list(collection) == list(tracks)
    assert collection.by_id("g1/3") is tracks[3]
    assert "g0/2" in collection and tracks[0] in collection and "nope" not in collection
    assert isinstance(collection[1:3], TrackCollection) and len(collection[1:3]) == 2
    assert collection.subset(["g0/0", "g1/5"]).labels().tolist() == [0, 1]
    assert collection.genre_index("g1") == 1
    with pytest.raises(KeyError, match="nope"):
        collection.by_id("nope")
    with pytest.raises(DatasetError, match="two files"):
        TrackCollection("test", "/x", tracks + tracks[:1], ("g0", "g1"))
    with pytest.raises(DatasetError, match="not one of"):
        TrackCollection("test", "/x", tracks, ("g0",))


def test_track_audio_is_lazy_and_decodes(tmp_path):
    path = write(tmp_path / "a.wav", noise(0.25))
    track = Track("a", str(path), "g")
    assert "duration" not in track.__dict__
    assert track.duration == pytest.approx(0.25, abs=1e-3)
    y = track.audio(sr=11025)
    assert y.dtype == np.float32 and abs(y.shape[0] - 11025 // 4) <= 1
