"""Upload checks of genrekit serve that need no server: content sniffing and client file names."""

from __future__ import annotations

import pytest

from conftest import tone, write
from genrekit.apps import uploads


@pytest.mark.parametrize("name, options, kind", [
    ("a.wav", {}, "WAV"), ("a.flac", {}, "FLAC"), ("a.ogg", {}, "OGG"),
    ("a.aiff", {"subtype": "PCM_16"}, "AIFF"), ("a.au", {"subtype": "PCM_16"}, "AU"),
])
def test_sniff_recognises_real_audio_files(tmp_path, name, options, kind):
    path = write(tmp_path / name, tone(seconds=0.5), **options)
    assert uploads.sniff(path.read_bytes()[:16]) == kind


@pytest.mark.parametrize("head, kind", [
    (b"ID3\x04\x00\x00\x00\x00\x00\x00", "MP3"), (b"\xff\xfb\x90\x64\x00", "MP3"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d", None), (b"RIFF\x00\x00\x00\x00AVI ", None),
    (b"hello world, not audio", None), (b"", None),
])
def test_sniff_tells_audio_from_other_content(head, kind):
    assert uploads.sniff(head) == kind


@pytest.mark.parametrize("filename, suffix", [
    ("song.WAV", ".wav"), ("a.b.flac", ".flac"), ("noext", ""), (".hidden", ""),
    ("C:\\music\\x.mp3", ".mp3"), ("../../etc/passwd", ""), ("dir.d/file", ""),
])
def test_suffix_of_client_file_names(filename, suffix):
    assert uploads._suffix(filename) == suffix


def test_too_large_message_names_the_limit_and_the_option():
    message = uploads.too_large_message(2_500_000)
    assert "2.5 MB (2500000 bytes)" in message and "--max-mb" in message
