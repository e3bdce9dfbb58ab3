"""What a classifier answers: a :class:`Prediction` per input, its timeline :class:`Segment`\\ s, and the
one minimum-confidence rule (:data:`UNKNOWN` below it) that ``predict``, ``tag`` and ``serve`` share."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from genrekit.errors import ConfigError

__all__ = ["Prediction", "Segment", "UNKNOWN", "check_min_confidence"]

#: The genre answered when the most probable genre is less probable than a minimum confidence.
UNKNOWN = "unknown"


def check_min_confidence(p: float | None) -> float | None:
    """A minimum confidence must be a finite probability in [0, 1] (``None``: no minimum)."""
    if p is not None and not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ConfigError(f"the minimum confidence must be a finite number from 0 to 1, got {p}")
    return p


@dataclass
class Segment:
    """One stretch of a file's timeline: ``start``/``end`` in seconds, and its genre probabilities."""

    start: float
    end: float
    genre: str
    probabilities: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "genre": self.genre,
                "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()}}


@dataclass
class Prediction:
    """The result for one input: a genre and its probabilities, or an error.

    Attributes
    ----------
    path : str or None
        The file (``None`` for arrays).
    genre : str or None
        The most probable genre; ``None`` when ``error`` is set.
    probabilities : dict
        Genre -> probability (the file's clips combined by the model's clip-to-track rule), in the
        model's genre order.
    seconds : float
        Audio seconds classified.
    timeline : list of Segment, optional
        Per-segment genres, when asked for.
    tags : dict, optional
        musicnn's tag -> probability (:mod:`genrekit.tags`), when asked for.
    error : str, optional
        Why the file could not be classified, and what to do.
    """

    path: str | None
    genre: str | None = None
    probabilities: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    timeline: list[Segment] | None = None
    error: str | None = None
    tags: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def genre_or_unknown(self, min_confidence: float | None = None) -> str | None:
        """The genre, or :data:`UNKNOWN` when its probability is below ``min_confidence`` (0..1)."""
        check_min_confidence(min_confidence)
        if self.genre is None or min_confidence is None or self.genre == UNKNOWN:
            return self.genre
        return self.genre if self.probabilities.get(self.genre, 0.0) >= min_confidence else UNKNOWN

    def apply_min_confidence(self, min_confidence: float | None) -> "Prediction":
        """Answer :data:`UNKNOWN` as :attr:`genre` below ``min_confidence`` (:meth:`genre_or_unknown`);
        the probabilities stay. Returns this prediction."""
        self.genre = self.genre_or_unknown(min_confidence)
        return self

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable genres with their probabilities, best first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self) -> dict[str, Any]:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        out: dict[str, Any] = {"path": self.path, "genre": self.genre,
                               "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
                               "seconds": round(self.seconds, 3)}
        if self.timeline is not None:
            out["timeline"] = [s.to_dict() for s in self.timeline]
        if self.tags is not None:
            out["tags"] = {k: round(v, 6) for k, v in self.tags.items()}
        return out
