"""Writing the genre into files' own tags: every taggable format, through a checked copy, never half-done."""

from __future__ import annotations

import os
import stat

import mutagen
import numpy as np
import pytest
from mutagen.id3 import ID3

from conftest import noise, tone, write
from genrekit import audio
from genrekit.filetags import TagError, can_tag, read_genre, write_genre

FORMATS = {"wav": {}, "flac": {}, "ogg": {"format": "OGG", "subtype": "VORBIS"},
           "mp3": {"format": "MP3", "subtype": "MPEG_LAYER_III"}, "aiff": {}}


def song(tmp_path, ext: str, seconds: float = 2.5):
    y = np.stack([tone(330.0, seconds), noise(seconds, seed=1)], axis=1)  # stereo: all channels must survive
    return write(tmp_path / f"song.{ext}", y, **FORMATS.get(ext, {}))


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_genre_is_written_and_audio_is_unchanged(tmp_path, ext):
    path = song(tmp_path, ext)
    before = audio.load(path, sr=None, mono=False)
    assert read_genre(path) is None
    assert write_genre(path, "jazz") == path
    assert read_genre(path) == "jazz"
    tags = mutagen.File(path).tags  # read by mutagen itself, as a player would
    genre = tags.getall("TCON")[0].text if isinstance(tags, ID3) else tags["GENRE"]
    assert list(genre) == ["jazz"]
    after = audio.load(path, sr=None, mono=False)
    assert after.shape == before.shape and np.array_equal(after, before)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("ext", ["flac", "mp3"])
def test_a_new_genre_replaces_the_old_one(tmp_path, ext):
    path = song(tmp_path, ext)
    write_genre(path, "jazz")
    write_genre(path, "Hip-Hop / Rap")
    assert read_genre(path) == "Hip-Hop / Rap"
    tags = mutagen.File(path).tags
    values = tags.getall("TCON")[0].text if isinstance(tags, ID3) else tags["GENRE"]
    assert list(values) == ["Hip-Hop / Rap"]


def test_au_files_are_refused_with_a_reason_and_left_alone(tmp_path):
    path = write(tmp_path / "song.au", tone(seconds=1.0))
    content = path.read_bytes()
    assert not can_tag(path)
    with pytest.raises(TagError) as caught:
        write_genre(path, "jazz")
    assert caught.value.path == str(path) and "cannot write tags into .au files" in caught.value.reason
    assert path.read_bytes() == content and leftovers(tmp_path) == []


def test_damaged_tags_leave_the_file_untouched(tmp_path):
    path = song(tmp_path, "flac")
    raw = bytearray(path.read_bytes())
    raw[5:8] = b"\xff\xff\xff"  # the STREAMINFO block's length: the metadata no longer parses
    path.write_bytes(bytes(raw))
    with pytest.raises(TagError) as caught:
        write_genre(path, "jazz")
    assert str(path) in str(caught.value)
    assert path.read_bytes() == bytes(raw) and leftovers(tmp_path) == []


def test_a_link_is_followed_and_stays_a_link(tmp_path):
    target = song(tmp_path / "store", "flac")
    link = tmp_path / "library" / "song.flac"
    link.parent.mkdir()
    link.symlink_to(target)
    assert write_genre(link, "blues") == target
    assert link.is_symlink() and read_genre(target) == "blues"


def test_permissions_are_kept(tmp_path):
    path = song(tmp_path, "wav")
    path.chmod(0o640)
    write_genre(path, "rock")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_gives_a_clear_error(tmp_path):
    path = song(tmp_path / "locked", "wav")
    content = path.read_bytes()
    path.parent.chmod(0o555)
    try:
        with pytest.raises(TagError, match="permissions"):
            write_genre(path, "rock")
    finally:
        path.parent.chmod(0o755)
    assert path.read_bytes() == content


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(TagError, match="file not found"):
        write_genre(tmp_path / "gone.flac", "rock")
