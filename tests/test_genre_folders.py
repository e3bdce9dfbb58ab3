"""genrekit.datasets.genre_folders: any folder-per-genre tree."""

from __future__ import annotations



from conftest import noise, write
from genrekit import datasets
from genrekit.datasets import GENRES


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


def test_real_samples_as_a_folder_per_genre(samples_dir, tmp_path):
    for path in samples_dir.glob("*.wav"):
        genre = path.name.split(".")[0]
        (tmp_path / genre).mkdir()
        (tmp_path / genre / path.name).symlink_to(path)
    collection = datasets.folder(tmp_path)
    assert collection.genres == GENRES and len(collection) == 10 and not collection.skipped
