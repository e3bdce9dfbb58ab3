"""Small file-system helpers shared by the layers: where caches live, atomic writes, and file
names people can read.

Everything genrekit writes that another run may read (cache entries, generated audio,
manifests, checkpoints) is written under a temporary name in the same folder and renamed
into place, so a killed process leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path
from typing import BinaryIO, Callable

from genrekit.errors import disk_full_as_error

__all__ = ["cache_home", "atomic_write", "atomic_write_text", "printable", "TEMP_PREFIX"]

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


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that reorder the text around them on a terminal (a name could show as another one).
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it: show the byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | os.PathLike) -> str:
    """A file name (or a line naming one) as one line people can read.

    File names may hold any byte but ``/`` and NUL: a newline would break a table or a report
    into two lines, an escape sequence would drive the terminal. Control characters, line and
    paragraph separators, bidirectional controls and undecodable bytes are written as Python
    escapes (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff`` for a byte that is not UTF-8);
    everything else, any script included, is kept.

    Examples
    --------
    >>> printable("two\\nlines.wav")
    'two\\\\nlines.wav'
    """
    text = os.fspath(text)
    return "".join(_escape(c) if unicodedata.category(c) in ("Cc", "Zl", "Zp", "Cs") or c in _BIDI_CONTROLS else c
                   for c in text)
