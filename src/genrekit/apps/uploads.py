"""Receiving one uploaded audio file over HTTP: a size-capped multipart stream, and a type check.

Used by :mod:`genrekit.apps.server`. Every way an upload can be refused is an
:class:`UploadError` carrying the HTTP status and a message for the person who sent it:

* **413** the request body is larger than the server's limit (refused from the
  ``Content-Length`` header before reading, or as soon as the streamed body passes the
  limit, so an oversized upload never fills the disk);
* **415** the file is not audio in a format genrekit reads: its extension is not one of
  :data:`genrekit.audio.SUPPORTED_EXTENSIONS`, or neither its first bytes (:func:`sniff`)
  nor the decoder recognise an audio format (a PNG or a text file renamed ``.wav``);
* **422** the request or the audio cannot be used: not ``multipart/form-data``, no file in
  the field, an empty file, or audio in a known format that is damaged or truncated;
* **400** the multipart body is malformed, or ends before its closing boundary (cut short);
* **507** the server has no space left to store the upload (its temporary folder is full).

The client's file name is only echoed back, never used as a path: the file is written as
``upload<ext>`` inside a directory the caller owns.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from genrekit import audio
from genrekit.errors import AudioError, GenrekitError, is_disk_full

__all__ = ["UploadError", "Upload", "FIELD", "receive", "check_audio", "sniff", "too_large_message",
           "private_directory"]

#: The multipart field that carries the file.
FIELD = "file"
#: Room for the multipart boundaries and part headers on top of the file's own size.
_MULTIPART_OVERHEAD = 16 * 1024
_EXTENSIONS = ", ".join(audio.SUPPORTED_EXTENSIONS)


class UploadError(GenrekitError):
    """An upload the server refuses: ``status`` is the HTTP status, the message says why and what to do."""

    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(message)


class _TooLarge(Exception):
    """The request body passed the limit while it was being read."""


class _Parser(MultiPartParser):
    """Starlette's parser, noting whether the body reached its closing boundary (``--BOUNDARY--``):
    python-multipart ends quietly on a body that stops short of it."""

    complete = False

    def on_end(self) -> None:
        self.complete = True


@contextlib.contextmanager
def _space() -> Iterator[None]:
    """A full disk while storing an upload is a 507 for the client (and not a bare 500)."""
    try:
        yield
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        raise UploadError(507, "the server has no space left to store the upload (its temporary folder is "
                               "full); try again later, or send a shorter file") from None


def private_directory() -> Path:
    """A new private temporary directory for one upload (the caller removes it).

    Raises
    ------
    UploadError
        507 when the temporary folder is full.
    """
    with _space():
        return Path(tempfile.mkdtemp(prefix="genrekit-upload-"))


@dataclass(frozen=True)
class Upload:
    """A received file.

    Attributes
    ----------
    filename : str
        The name the client gave (for display only).
    path : Path
        Where it was written (``upload<ext>`` in the caller's directory).
    size : int
        Bytes.
    """

    filename: str
    path: Path
    size: int


def too_large_message(max_bytes: int) -> str:
    """What a client is told when its upload is over the limit."""
    return (f"the upload is larger than this server's limit of {max_bytes / 1e6:g} MB ({max_bytes} bytes); "
            "send a shorter excerpt, or start the server with a larger --max-mb")


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass the request body through, raising :class:`_TooLarge` once more than ``limit`` bytes came."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise _TooLarge
        yield chunk


def _suffix(filename: str) -> str:
    """The lower-case extension of a client's file name (``""`` when it has none)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return "." + name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""


async def receive(request: Request, directory: Path, max_bytes: int) -> Upload:
    """Read the file in the multipart field :data:`FIELD` of ``request`` into ``directory``.

    Parameters
    ----------
    request : starlette.requests.Request
        A ``multipart/form-data`` POST whose body has not been read.
    directory : Path
        An existing private directory; the file is written there as ``upload<ext>``.
    max_bytes : int
        The largest file accepted.

    Returns
    -------
    Upload

    Raises
    ------
    UploadError
        413 (too large), 415 (an extension that is not audio), 422 (no multipart body,
        no file in the field, an empty file), 400 (a malformed or cut-short multipart body)
        or 507 (no space left to store it).
    starlette.requests.ClientDisconnect
        The client closed the connection before the whole body came.
    """
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise UploadError(422, f"expected a multipart/form-data upload with the audio file in the field "
                               f"{FIELD!r}, e.g. curl -F {FIELD}=@song.wav URL/predict")
    limit = max_bytes + _MULTIPART_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadError(413, too_large_message(max_bytes))
    parser = _Parser(request.headers, _capped(request.stream(), limit), max_files=1, max_fields=16)
    try:
        with _space():  # parts over 1 MB are spooled to the temporary folder
            form = await parser.parse()
    except _TooLarge:
        raise UploadError(413, too_large_message(max_bytes)) from None
    except MultiPartException as exc:
        raise UploadError(400, f"the request body is not valid multipart/form-data ({exc.message})") from None
    if not parser.complete:
        await form.close()
        raise UploadError(400, "the multipart/form-data body ends before its closing boundary: the upload was "
                               "cut short or is malformed; send the file again")
    try:
        item = form.get(FIELD)
        if not isinstance(item, UploadFile):
            raise UploadError(422, f"no file in the multipart field {FIELD!r}; send the audio as "
                                   f"curl -F {FIELD}=@song.wav URL/predict")
        filename = (item.filename or "").strip() or "upload"
        suffix = _suffix(filename)
        if suffix and suffix not in audio.SUPPORTED_EXTENSIONS:
            raise UploadError(415, f"{filename!r} is not a supported audio file ({suffix}); genrekit reads "
                                   f"{_EXTENSIONS}")
        path = directory / f"upload{suffix}"
        with _space():
            size = await run_in_threadpool(_save, item, path)
    finally:
        await form.close()
    if size > max_bytes:  # the multipart overhead allowance let a slightly larger file through
        raise UploadError(413, too_large_message(max_bytes))
    if size == 0:
        raise UploadError(422, f"{filename!r} is empty (0 bytes); choose the audio file again")
    return Upload(filename, path, size)


def _save(item: UploadFile, path: Path) -> int:
    item.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(item.file, out, length=1 << 20)
    return path.stat().st_size


def sniff(head: bytes) -> str | None:
    """The audio container that a file's first bytes announce, or ``None``.

    Parameters
    ----------
    head : bytes
        At least the first 12 bytes of the file.

    Returns
    -------
    str or None
        ``"WAV"``, ``"AIFF"``, ``"AU"``, ``"FLAC"``, ``"OGG"`` or ``"MP3"``.
    """
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    magic = {b".snd": "AU", b"fLaC": "FLAC", b"OggS": "OGG"}
    if head[:4] in magic:
        return magic[head[:4]]
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"  # an ID3 tag, or an MPEG audio frame's sync word
    return None


def check_audio(upload: Upload) -> None:
    """Probe the file's header with the decoder (:func:`genrekit.audio.info`).

    Raises
    ------
    UploadError
        415 when neither :func:`sniff` nor the decoder recognise an audio format; 422 when
        the format is known but the file is damaged, truncated or holds no samples.
    """
    with open(upload.path, "rb") as stream:
        head = stream.read(16)
    try:
        audio.info(upload.path)
    except AudioError as exc:
        if sniff(head) is None:
            raise UploadError(415, f"{upload.filename!r} is not audio in a format genrekit reads; it reads "
                                   f"WAV, FLAC, OGG/Vorbis, MP3, AU and AIFF ({_EXTENSIONS})") from None
        raise UploadError(422, f"{upload.filename!r}: {exc.reason}") from None
