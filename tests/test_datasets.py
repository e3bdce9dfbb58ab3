"""genrekit.datasets: Track, TrackCollection, gtzan (both layouts), folder."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import noise, write
from genrekit import datasets
from genrekit.datasets import GENRES, DatasetWarning, Track, TrackCollection
from genrekit.datasets.gtzan import expected_ids
from genrekit.errors import DatasetError


def gtzan_tree(root, layout, ext, numbers=(0, 1), plant_broken_jazz=False, seconds=0.5):
    """A tiny GTZAN copy: ``numbers`` tracks per genre, ``seconds`` of noise each."""
    base = root / layout
    for g_index, genre in enumerate(GENRES):
        for number in numbers:
            kwargs = {"subtype": "PCM_16"} if ext == "au" else {}
            write(base / genre / f"{genre}.{number:05d}.{ext}", noise(seconds, seed=g_index * 100 + number), **kwargs)
    if plant_broken_jazz:
        # The common WAV re-encoding ships jazz.00054.wav damaged: present, not decodable.
        (base / "jazz" / "jazz.00054.wav").write_bytes(b"RIFF\x00\x00\x00\x00garbage that is not a wave file")
    return base


@pytest.mark.parametrize("layout,ext", [("genres", "au"), ("genres_original", "wav")])
def test_gtzan_recognises_both_layouts(tmp_path, layout, ext):
    gtzan_tree(tmp_path, layout, ext)
    with pytest.warns(DatasetWarning, match="980 missing"):
        collection = datasets.gtzan(tmp_path)
    assert len(collection) == 20
    assert collection.genres == GENRES
    assert collection[0].id == "blues.00000" and collection[0].genre == "blues"
    assert collection[0].path.endswith(f"blues.00000.{ext}")
    assert collection.counts() == {g: 2 for g in GENRES}
    assert len(collection.missing) == 980 and "blues.00002" in collection.missing
    assert collection[0].duration == pytest.approx(0.5, abs=0.01)
    # The genre folder itself works as root too.
    with pytest.warns(DatasetWarning):
        assert len(datasets.gtzan(tmp_path / layout)) == 20


def test_gtzan_reports_and_leaves_out_the_broken_jazz_00054(tmp_path):
    gtzan_tree(tmp_path, "genres_original", "wav", plant_broken_jazz=True)
    with pytest.warns(DatasetWarning, match="1 unreadable"):
        collection = datasets.gtzan(tmp_path)
    assert "jazz.00054" not in collection
    assert len(collection) == 20
    assert len(collection.skipped) == 1
    assert collection.skipped[0].path.endswith("jazz.00054.wav")
    assert "not a recognised audio file" in collection.skipped[0].reason
    assert "jazz.00054" not in collection.missing  # present but broken, not missing
    with pytest.raises(DatasetError, match="unreadable"):
        datasets.gtzan(tmp_path, strict=True)


def test_gtzan_complete_copy_gives_no_warning(tmp_path):
    gtzan_tree(tmp_path, "genres", "au", numbers=range(100), seconds=0.02)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        collection = datasets.gtzan(tmp_path, strict=True)
    assert len(collection) == 1000 and not collection.missing and not collection.skipped
    assert [t.id for t in collection] == expected_ids()


def test_gtzan_ignores_stray_files(tmp_path):
    base = gtzan_tree(tmp_path, "genres", "au")
    write(base / "rock" / "my-song.wav", noise(0.5))       # not a GTZAN name
    write(base / "rock" / "jazz.00003.wav", noise(0.5))    # another genre's name in rock/
    (base / "rock" / ".DS_Store").write_bytes(b"\x00")
    with pytest.warns(DatasetWarning):
        collection = datasets.gtzan(tmp_path)
    assert len(collection) == 20 and not collection.skipped


def test_folder_any_genres_nested_and_formats(tmp_path):
    write(tmp_path / "Bossa Nova" / "a.flac", noise(0.5))
    write(tmp_path / "Bossa Nova" / "disc 2" / "b.ogg", noise(0.5), format="OGG", subtype="VORBIS")
    write(tmp_path / "grime" / "c.mp3", noise(0.5), format="MP3")
    write(tmp_path / ".hidden" / "d.wav", noise(0.5))
    collection = datasets.folder(tmp_path)
    assert collection.genres == ("Bossa Nova", "grime")
    assert [t.id for t in collection] == ["Bossa Nova/a", "Bossa Nova/disc 2/b", "grime/c"]
    assert collection.labels().tolist() == [0, 0, 1]


def test_folder_with_an_explicit_label_set(tmp_path):
    write(tmp_path / "rock" / "a.wav", noise(0.5))
    write(tmp_path / "pop" / "b.wav", noise(0.5))
    collection = datasets.folder(tmp_path, genres=["rock", "jazz"])
    assert collection.genres == ("rock", "jazz")
    assert [t.id for t in collection] == ["rock/a"]
    assert collection.counts() == {"rock": 1, "jazz": 0}


def test_folder_same_name_other_extension_is_skipped_with_reason(tmp_path):
    write(tmp_path / "rock" / "a.wav", noise(0.5))
    write(tmp_path / "rock" / "a.flac", noise(0.5))
    collection = datasets.folder(tmp_path)
    assert len(collection) == 1 and "rename" in collection.skipped[0].reason


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


def test_real_samples_as_a_folder_per_genre(samples_dir, tmp_path):
    for path in samples_dir.glob("*.wav"):
        genre = path.name.split(".")[0]
        (tmp_path / genre).mkdir()
        (tmp_path / genre / path.name).symlink_to(path)
    collection = datasets.folder(tmp_path)
    assert collection.genres == GENRES and len(collection) == 10 and not collection.skipped
