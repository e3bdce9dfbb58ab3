"""genrekit.datasets.gtzan_genre: both GTZAN layouts, the damaged jazz.00054.wav, completeness."""

from __future__ import annotations

import warnings

import pytest

from conftest import noise, write
from genrekit import datasets
from genrekit.datasets import GENRES, DatasetWarning
from genrekit.datasets.gtzan_genre import expected_ids
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
