"""The error types genrekit raises for bad input.

Every error a user can cause (a bad file, a wrong path, an impossible option) is a
:class:`GenrekitError`, so a batch job can catch one type, report it, and go on.
The message always says which file or option was wrong and what to do about it.
"""

from __future__ import annotations

__all__ = ["GenrekitError", "AudioError", "DatasetError", "FeatureError", "ConfigError", "reason"]


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


def reason(exc: BaseException, path) -> str:
    """What a batch reports for a file that failed, next to the file's name.

    A :class:`GenrekitError`'s message without its leading ``"PATH: "`` (an :class:`AudioError`'s
    ``reason``); anything else (a bug, an exotic file) as ``"unexpected TYPE: message"``.
    """
    if not isinstance(exc, GenrekitError):
        return f"unexpected {type(exc).__name__}: {exc}"
    if isinstance(exc, AudioError):
        return exc.reason
    text, prefix = str(exc), f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
