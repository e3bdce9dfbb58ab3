"""genrekit.errors: one way to say why a file failed."""

from __future__ import annotations

import errno
import os

from genrekit.errors import AudioError, FeatureError, reason


def test_reason_strips_only_the_leading_path():
    assert reason(FeatureError("/a/b.wav: silent"), "/a/b.wav") == "silent"
    assert reason(FeatureError("something else"), "/a/b.wav") == "something else"


def test_an_audio_errors_reason_and_an_unexpected_error():
    assert reason(AudioError("/a/b.wav", "truncated: 3 of 10 s"), "/a/b.wav") == "truncated: 3 of 10 s"
    assert reason(ValueError("bad header"), "/a/b.wav") == "unexpected ValueError: bad header"


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
