"""genrekit.errors: one way to say why a file failed, and what a full disk is."""

from __future__ import annotations

import errno
import os
import pickle
import sqlite3

import pytest

from genrekit.errors import AudioError, DiskFullError, FeatureError, disk_full_as_error, is_disk_full, reason


def test_reason_strips_only_the_leading_path():
    assert reason(FeatureError("/a/b.wav: silent"), "/a/b.wav") == "silent"
    assert reason(FeatureError("something else"), "/a/b.wav") == "something else"


def test_an_audio_errors_reason_and_an_unexpected_error():
    assert reason(AudioError("/a/b.wav", "truncated: 3 of 10 s"), "/a/b.wav") == "truncated: 3 of 10 s"
    assert reason(ValueError("bad header"), "/a/b.wav") == "unexpected ValueError: bad header"


def test_disk_full_is_recognised_in_os_and_sqlite_errors():
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("no space"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: tracks"))


def test_a_full_sqlite_database_is_disk_full(tmp_path):
    """A real SQLITE_FULL: a database limited to its current pages cannot grow."""
    db = sqlite3.connect(tmp_path / "a.sqlite")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError) as caught:
        with db:
            db.execute("INSERT INTO t VALUES (?)", (bytes(100_000),))
    assert is_disk_full(caught.value)


def test_disk_full_as_error_names_the_outer_path_and_passes_other_errors():
    with pytest.raises(DiskFullError) as caught:
        with disk_full_as_error("/music/catalogue.sqlite", "every file so far is kept"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(caught.value) == ("disk full while writing /music/catalogue.sqlite: free some space and run the "
                                 "same command again; every file so far is kept")
    with pytest.raises(DiskFullError) as caught:  # an inner block's error is named by the outer one
        with disk_full_as_error("/cache", "computed features are kept"):
            with disk_full_as_error("/cache/ab/entry.npy"):
                raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.path == "/cache" and caught.value.kept == "computed features are kept"
    with pytest.raises(PermissionError):
        with disk_full_as_error("/x"):
            raise PermissionError(errno.EACCES, "Permission denied")


def test_disk_full_error_crosses_process_boundaries():
    """Worker processes raise it; the parent must get the same error back."""
    error = pickle.loads(pickle.dumps(DiskFullError("/cache", "kept")))
    assert isinstance(error, DiskFullError) and (error.path, error.kept) == ("/cache", "kept")
    assert str(error) == str(DiskFullError("/cache", "kept"))


def test_os_errors_say_what_the_system_refused_and_never_that_the_file_is_damaged():
    from genrekit.errors import os_reason

    cases = {errno.ENOENT: "file not found", errno.ELOOP: "too many levels of symbolic links",
             errno.EACCES: "permission denied", errno.ENAMETOOLONG: "longer than the file system allows",
             errno.EIO: "input/output error", errno.ENOTDIR: "not a folder", errno.EBUSY: "cannot read the file"}
    for number, says in cases.items():
        error = OSError(number, os.strerror(number), "/a/b.wav")
        assert says in os_reason(error) and reason(error, "/a/b.wav") == os_reason(error)
        assert "damaged" not in os_reason(error) and "replace" not in os_reason(error)
    assert reason(PermissionError(errno.EACCES, "Permission denied"), "/a/b.wav").startswith("permission denied")
