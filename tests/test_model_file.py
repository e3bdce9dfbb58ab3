"""genrekit.inference.model_file: the model file holds a network's configuration, spec, weights, card and rule."""

from __future__ import annotations

import pytest
import torch

from genrekit import features
from genrekit.errors import ConfigError, GenrekitError
from genrekit.inference import MODEL_FORMAT, read_model, write_model


def test_write_then_read_gives_everything_back(tmp_path):
    spec = features.get("coarse_mel")
    state = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)[:, :2]}  # not contiguous
    path = write_model(tmp_path / "deep" / "m.pt", {"clip_frames": 39, "genres": ["a", "b"]}, state, spec,
                       {"name": "tiny"}, rule="vote")
    payload = read_model(path)
    assert payload["format"] == MODEL_FORMAT and payload["rule"] == "vote" and payload["card"] == {"name": "tiny"}
    assert payload["config"] == {"clip_frames": 39, "genres": ["a", "b"]}
    assert features.from_dict(payload["spec"]) == spec
    torch.testing.assert_close(payload["state"]["w"], state["w"])


def test_a_file_without_a_rule_is_read_as_the_mean(tmp_path):
    """Files written before the rule was stored were served with the mean."""
    torch.save({"format": MODEL_FORMAT, "config": {}, "spec": {}, "state": {}}, tmp_path / "old.pt")
    assert read_model(tmp_path / "old.pt")["rule"] == "mean" and read_model(tmp_path / "old.pt")["card"] == {}


def test_bad_rules_and_files_are_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="unknown clip-to-track rule 'median'"):
        write_model(tmp_path / "m.pt", {}, {}, features.get("coarse_mel"), {}, rule="median")
    assert not (tmp_path / "m.pt").exists()
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(GenrekitError, match="other.pt: not a genrekit model file .no 'genrekit-model/1' format tag"):
        read_model(tmp_path / "other.pt")
