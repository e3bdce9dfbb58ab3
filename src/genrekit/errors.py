"""The error types genrekit raises for bad input.

Every error a user can cause (a bad file, a wrong path, an impossible option) is a
:class:`GenrekitError`, so a batch job can catch one type, report it, and go on.
The message always says which file or option was wrong and what to do about it.
"""

from __future__ import annotations

__all__ = ["GenrekitError", "AudioError", "DatasetError", "FeatureError", "ConfigError"]


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
