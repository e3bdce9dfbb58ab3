"""Small file-system helpers shared by the layers: where caches live, and atomic writes.

Everything genrekit writes that another run may read (cache entries, generated audio,
manifests, checkpoints) is written under a temporary name in the same folder and renamed
into place, so a killed process leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from genrekit.errors import disk_full_as_error

__all__ = ["cache_home", "atomic_write", "atomic_write_text", "TEMP_PREFIX"]

#: Name prefix of temporary files; whatever starts with it is an unfinished write.
TEMP_PREFIX = ".tmp-"


def cache_home() -> Path:
    """genrekit's cache folder: ``$GENREKIT_CACHE`` if set, else ``~/.cache/genrekit``."""
    return Path(os.environ.get("GENREKIT_CACHE") or Path.home() / ".cache" / "genrekit")


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Write a file atomically: ``write(stream)`` fills a temporary file, which then replaces ``path``.

    Parameters
    ----------
    path : str or path-like
        The destination; its folder must exist.
    write : callable
        Called with a binary, seekable stream open on the temporary file.

    Returns
    -------
    Path
        ``path``. If ``write`` raises, the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    genrekit.errors.DiskFullError
        The disk (or quota) filled up: ``path`` is untouched, no temporary file is left.
    """
    path = Path(path)
    with disk_full_as_error(path):
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
        try:
            # mkstemp makes the file private (0600); give it the permissions a plain open() would.
            os.chmod(tmp, 0o666 & ~_umask())
            with os.fdopen(handle, "w+b") as stream:
                write(stream)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write` for UTF-8 text."""
    return atomic_write(path, lambda stream: stream.write(text.encode("utf-8")))
