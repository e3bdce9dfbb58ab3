"""Read and write the genre in audio files' own tags, safely.

Tags are written with mutagen: Vorbis comments (``GENRE``) in FLAC and OGG files, an ID3
``TCON`` frame in MP3 files and in the ``id3`` chunk of WAV and AIFF files. Sun/NeXT ``.au``
files have no tag format mutagen can write; :func:`write_genre` refuses them with a
:class:`TagError` that says so, and a batch records the note and goes on.

Writing never edits a file in place. The file is copied into a temporary file in the same
folder (named with :data:`genrekit.files.TEMP_PREFIX`, so folder walks ignore it), the tag
is written into the copy, the copy is checked (it decodes, entirely, to the same samples as
the original, and reads back the new genre), flushed to disk, and only then renamed over the
original with :func:`os.replace`. A crash at any moment leaves the original file or the
tagged one, never a half-written file.

Examples
--------
>>> write_genre("song.flac", "jazz")        # doctest: +SKIP
>>> read_genre("song.flac")                 # doctest: +SKIP
'jazz'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from itertools import zip_longest
from pathlib import Path

import numpy as np

from genrekit import audio
from genrekit.errors import GenrekitError
from genrekit.files import TEMP_PREFIX

__all__ = ["TagError", "read_genre", "write_genre", "can_tag"]

#: Seconds decoded at a time when a tagged copy is checked against its original. The whole
#: file is compared: a tag writer never touches the samples, a broken copy would, and a
#: full decode is what proves the file still plays (it costs a fraction of classifying it).
BLOCK_SECONDS = 60.0


class TagError(GenrekitError):
    """The genre could not be written into a file; ``.path`` and ``.reason`` say why."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _open(path: str | os.PathLike):
    """The mutagen object of a file, or ``None`` when mutagen has no tag format for it."""
    import mutagen

    try:
        return mutagen.File(str(path))
    except Exception as exc:  # mutagen raises its own error types per format
        raise TagError(path, f"its tags cannot be read ({type(exc).__name__}: {exc}); "
                             "the file may be damaged") from None


def can_tag(path: str | os.PathLike) -> bool:
    """True when mutagen knows a tag format for this file (False for ``.au`` files, for example)."""
    try:
        return _open(path) is not None
    except TagError:
        return False


def _is_id3(tags) -> bool:
    from mutagen.id3 import ID3

    return isinstance(tags, ID3)


def read_genre(path: str | os.PathLike) -> str | None:
    """The genre in a file's tags (the first one if there are several), or ``None``.

    Raises
    ------
    TagError
        If the file's tags cannot be parsed.
    """
    tagged = _open(path)
    if tagged is None or tagged.tags is None:
        return None
    if _is_id3(tagged.tags):
        frames = tagged.tags.getall("TCON")
        values = frames[0].text if frames else []
    else:
        values = tagged.tags.get("GENRE") or tagged.tags.get("genre") or []
    return str(values[0]) if values else None


def _set_genre(path: Path, genre: str) -> None:
    """Write ``genre`` into the tags of ``path`` in place (used on the temporary copy only)."""
    import mutagen
    from mutagen.id3 import TCON

    tagged = mutagen.File(str(path))
    if tagged.tags is None:
        tagged.add_tags()
    if _is_id3(tagged.tags):
        tagged.tags.setall("TCON", [TCON(encoding=3, text=[genre])])
    else:
        tagged.tags["GENRE"] = [genre]
    tagged.save()


def _same_audio(original: Path, copy: Path) -> bool:
    """True when both files decode to exactly the same samples (block by block, bounded memory)."""
    blocks = zip_longest(audio.stream(original, sr=None, block_seconds=BLOCK_SECONDS, mono=False),
                         audio.stream(copy, sr=None, block_seconds=BLOCK_SECONDS, mono=False))
    return all(a is not None and b is not None and np.array_equal(a, b) for a, b in blocks)


def _check_copy(original: Path, copy: Path, genre: str) -> None:
    """Raise TagError unless ``copy`` decodes to the samples of ``original`` and carries ``genre``."""
    try:
        same = _same_audio(original, copy)
    except audio.AudioError as exc:
        raise TagError(original, f"the tagged copy does not decode ({exc.reason}); the file was left "
                                 "unchanged") from None
    if not same:
        raise TagError(original, "the tagged copy decodes to different audio; the file was left unchanged")
    try:
        written = read_genre(copy)
    except TagError as exc:
        raise TagError(original, f"the tagged copy's tags cannot be read back ({exc.reason})") from None
    if written != genre:
        raise TagError(original, "the genre did not read back from the tagged copy; the file was left unchanged")


def write_genre(path: str | os.PathLike, genre: str) -> Path:
    """Write ``genre`` into a file's own tags through a checked temporary copy and an atomic rename.

    Parameters
    ----------
    path : str or path-like
        A FLAC, OGG, MP3, WAV or AIFF file (a symbolic link is followed: its target is tagged).
    genre : str

    Returns
    -------
    Path
        The file written (the link's target for a link).

    Raises
    ------
    TagError
        The format has no tags mutagen can write (``.au``), the file's tags are damaged, the
        folder is not writable, or the tagged copy failed its check. The original file is
        then untouched.
    """
    target = Path(os.path.realpath(path))
    if not target.is_file():
        raise TagError(path, "file not found; it may have been moved or deleted")
    if _open(target) is None:
        raise TagError(path, f"mutagen cannot write tags into {target.suffix or 'these'} files; "
                             "the genre is kept in the catalogue only (convert to FLAC to carry it in the file)")
    try:
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=target.suffix)
        os.close(handle)
    except OSError as exc:
        raise TagError(path, f"cannot write a temporary copy in its folder ({exc.strerror}); "
                             "check the folder's permissions") from None
    copy = Path(name)
    try:
        shutil.copy2(target, copy)
        _set_genre(copy, genre)
        _check_copy(target, copy, genre)
        with open(copy, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(copy, target)
    except BaseException as exc:
        copy.unlink(missing_ok=True)
        if isinstance(exc, TagError) or not isinstance(exc, Exception):
            raise
        raise TagError(path, f"writing the tag failed ({type(exc).__name__}: {exc}); "
                             "the file was left unchanged") from None
    return target
