"""genrekit.inference.prediction: predictions, their dictionaries and the one minimum-confidence rule."""

from __future__ import annotations

import pytest

from genrekit.errors import ConfigError


def test_genre_or_unknown_is_the_one_minimum_confidence_rule():
    from genrekit.inference import UNKNOWN, Prediction

    prediction = Prediction("a.wav", genre="jazz", probabilities={"jazz": 0.6, "rock": 0.4})
    assert prediction.genre_or_unknown(None) == prediction.genre_or_unknown(0.6) == "jazz"
    assert prediction.genre_or_unknown(0.61) == UNKNOWN and prediction.genre_or_unknown(1.0) == UNKNOWN
    assert Prediction("b.wav", error="damaged").genre_or_unknown(0.9) is None
    for bad in (-0.1, 1.5, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="from 0 to 1"):
            prediction.genre_or_unknown(bad)
    assert prediction.apply_min_confidence(0.9) is prediction and prediction.genre == UNKNOWN
    assert prediction.probabilities == {"jazz": 0.6, "rock": 0.4}
    assert prediction.to_dict()["genre"] == UNKNOWN and "tags" not in prediction.to_dict()
    prediction.tags = {"rock": 0.1234567}
    assert prediction.to_dict()["tags"] == {"rock": 0.123457}
