"""genrekit.errors: one way to say why a file failed."""

from __future__ import annotations

from genrekit.errors import AudioError, FeatureError, reason


def test_reason_strips_only_the_leading_path():
    assert reason(FeatureError("/a/b.wav: silent"), "/a/b.wav") == "silent"
    assert reason(FeatureError("something else"), "/a/b.wav") == "something else"


def test_an_audio_errors_reason_and_an_unexpected_error():
    assert reason(AudioError("/a/b.wav", "truncated: 3 of 10 s"), "/a/b.wav") == "truncated: 3 of 10 s"
    assert reason(ValueError("bad header"), "/a/b.wav") == "unexpected ValueError: bad header"
