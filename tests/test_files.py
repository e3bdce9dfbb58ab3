"""genrekit.files: cache location and atomic writes."""

from __future__ import annotations

import pytest

from genrekit.errors import DiskFullError
from genrekit.files import TEMP_PREFIX, atomic_write, atomic_write_text, cache_home


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write(target, lambda s: s.write(b"old"))

    def broken(stream):
        stream.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREKIT_CACHE", str(tmp_path))
    assert cache_home() == tmp_path
    monkeypatch.delenv("GENREKIT_CACHE")
    assert cache_home().parts[-2:] == (".cache", "genrekit")


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os
    import stat

    from genrekit.files import atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "f.txt", "x")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_full_disk_is_a_disk_full_error_and_keeps_the_old_file(small_disk):
    target = small_disk / "a.bin"
    atomic_write(target, lambda s: s.write(b"old"))
    with pytest.raises(DiskFullError) as caught:
        atomic_write(target, lambda s: s.write(bytes(4_000_000)))  # twice the disk
    assert caught.value.path == str(target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in small_disk.iterdir()] == ["a.bin"]
