"""The error types genrekit raises for bad input.

Every error a user can cause (a bad file, a wrong path, an impossible option) is a
:class:`GenrekitError`, so a batch job can catch one type, report it, and go on.
The message always says which file or option was wrong and what to do about it.
"""

from __future__ import annotations

import contextlib
import errno
import sqlite3
from collections.abc import Iterator

__all__ = ["GenrekitError", "AudioError", "DatasetError", "FeatureError", "ConfigError", "DiskFullError", "os_reason",
           "reason", "is_disk_full", "disk_full_as_error"]

#: ``errno`` values of a write refused for want of space: the disk, or the user's quota, is full.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
#: SQLite's primary result code for "database or disk is full" (extended codes keep it in the low byte).
_SQLITE_FULL = 13


class GenrekitError(Exception):
    """Base class of every error genrekit raises on purpose."""


class AudioError(GenrekitError):
    """A file could not be decoded as audio.

    Parameters
    ----------
    path : str
        The file that failed.
    reason : str
        What was wrong, in words a user can act on.
    """

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DatasetError(GenrekitError):
    """A dataset folder is missing, empty or not laid out as expected."""


class FeatureError(GenrekitError):
    """Features could not be computed for a track (too short, silent, bad spec)."""


class ConfigError(GenrekitError):
    """An option or configuration value is invalid."""


class DiskFullError(GenrekitError):
    """A write failed because the disk (or the user's quota) is full.

    Parameters
    ----------
    path : str or path-like
        What was being written: a file, a folder or a database.
    kept : str, optional
        What the person does not lose, e.g. ``"every file classified so far is kept in the catalogue"``.
    """

    def __init__(self, path, kept: str = ""):
        self.path = str(path)
        self.kept = kept
        super().__init__(f"disk full while writing {self.path}: free some space and run the same command again"
                         + (f"; {kept}" if kept else ""))

    def __reduce__(self):  # raised in worker processes: pickle the arguments, not the message
        return type(self), (self.path, self.kept)


def is_disk_full(exc: BaseException) -> bool:
    """True for an error that means "no space left": an ``OSError`` with ``ENOSPC`` or ``EDQUOT``,
    or SQLite's ``SQLITE_FULL`` ("database or disk is full")."""
    if isinstance(exc, OSError):
        return exc.errno in DISK_FULL_ERRNOS
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
        return (code & 0xFF) == _SQLITE_FULL if code is not None else "disk is full" in str(exc)
    return False


@contextlib.contextmanager
def disk_full_as_error(path, kept: str = "") -> Iterator[None]:
    """Turn a "no space left" error raised inside the block into a :class:`DiskFullError` naming ``path``.

    A :class:`DiskFullError` from an inner block (say :func:`genrekit.files.atomic_write` of one
    cache entry) is named again by the outer one, which knows what a person calls the thing (the
    cache, the catalogue) and what is kept. Every other error passes unchanged.
    """
    try:
        yield
    except (OSError, sqlite3.Error, DiskFullError) as exc:
        if isinstance(exc, DiskFullError) or is_disk_full(exc):
            raise DiskFullError(path, kept) from exc
        raise


#: What the operating system's refusals mean for someone who wants a file read, by errno.
_OS_REASONS = {
    errno.ENOENT: "file not found; check the path and that the drive is mounted",
    errno.ELOOP: "too many levels of symbolic links (the links form a loop); "
                 "fix or remove the link",
    errno.EACCES: "permission denied; make the file (and its folders) readable, e.g. `chmod a+r FILE`",
    errno.EPERM: "permission denied; make the file (and its folders) readable, e.g. `chmod a+r FILE`",
    errno.ENOTDIR: "a part of the path is a file, not a folder; check the path",
    errno.ENAMETOOLONG: "the path (or one of its names) is longer than the file system allows; "
                        "move the file to a shorter path",
    errno.EIO: "input/output error while reading; the drive may be failing or disconnected: "
               "check it, then try again",
    errno.EISDIR: "is a folder, not a file",
}


def os_reason(exc: OSError) -> str:
    """Why the operating system would not let a file be read, in words a user can act on.

    Nothing here says the file is damaged: these errors come before any of its content is read.
    """
    known = _OS_REASONS.get(exc.errno)
    if known is not None:
        return known
    return f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable"


def reason(exc: BaseException, path) -> str:
    """What a batch reports for a file that failed, next to the file's name.

    A :class:`GenrekitError`'s message without its leading ``"PATH: "`` (an :class:`AudioError`'s
    ``reason``); an ``OSError`` as :func:`os_reason` words it; anything else (a bug, an exotic
    file) as ``"unexpected TYPE: message"``.
    """
    if isinstance(exc, OSError) and not isinstance(exc, GenrekitError):
        return os_reason(exc)
    if not isinstance(exc, GenrekitError):
        return f"unexpected {type(exc).__name__}: {exc}"
    if isinstance(exc, AudioError):
        return exc.reason
    text, prefix = str(exc), f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
