"""genrekit.evaluation.results: the schema of results.json, deviations with kinds, older files without them."""

from __future__ import annotations

import copy
import json
import pickle
import re

import pytest

from genrekit.errors import ConfigError
from genrekit.evaluation.results import (DEVIATION_KINDS, RESULTS_FILE, Deviation, load_results, validate_results,
                                         write_results)
from test_report import results


def test_deviation_kinds_round_trip(tmp_path):
    data = results(budget="full")
    data["deviations"] = [Deviation(f"a deviation of kind {kind}", kind) for kind in DEVIATION_KINDS]
    path = write_results(tmp_path, data)
    assert path == tmp_path / RESULTS_FILE
    written = json.loads(path.read_text())["deviations"]
    assert written == [{"kind": kind, "text": f"a deviation of kind {kind}"} for kind in DEVIATION_KINDS]
    loaded = load_results(tmp_path)["deviations"]
    assert [(str(d), d.kind) for d in loaded] == [(str(d), d.kind) for d in data["deviations"]]
    # A deviation reads as its text (the CLI's note lines, the report's list).
    assert loaded[1] == "a deviation of kind cut" and f"note: {loaded[1]}" == "note: a deviation of kind cut"
    assert pickle.loads(pickle.dumps(loaded[1])).kind == "cut"


def test_an_older_file_without_kinds_still_loads(tmp_path):
    data = results(budget="full")
    data["deviations"] = ["3 of the protocol's 10 runs", "net1: at most 30 of the paper's 150 epochs",
                          "only the systems net1 were run", "synthetic data instead of GTZAN"]
    (tmp_path / RESULTS_FILE).write_text(json.dumps(data))
    loaded = load_results(tmp_path)["deviations"]
    assert loaded == data["deviations"]
    # The wording the reproduce command used for cuts is a cut; everything else a note.
    assert [d.kind for d in loaded] == ["cut", "cut", "note", "note"]
    # Written again, the file has kinds.
    write_results(tmp_path, load_results(tmp_path))
    assert json.loads((tmp_path / RESULTS_FILE).read_text())["deviations"][0] == {
        "kind": "cut", "text": "3 of the protocol's 10 runs"}


def test_a_plain_string_written_today_is_a_note(tmp_path):
    data = results()
    data["deviations"] = ["3 of the protocol's 10 runs"]
    write_results(tmp_path, data)
    (only,) = load_results(tmp_path)["deviations"]
    assert only.kind == "note"


@pytest.mark.parametrize("deviation, message", [
    ({"kind": "shortcut", "text": "x"}, "'deviations[0].kind' must be one of 'protocol', 'cut'"),
    ({"text": "x"}, "'deviations[0].kind' is missing"),
    ({"kind": "cut"}, "'deviations[0].text' is missing"),
    (3, "'deviations[0]' must be an object {kind, text} (or a string)"),
])
def test_a_bad_deviation_is_named(deviation, message):
    data = results()
    data["deviations"] = [deviation]
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_results(data)
    with pytest.raises(ConfigError, match="kind must be one of"):
        Deviation("x", "shortcut")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["systems"][1]["accuracy"].pop("mean"), "'systems[1].accuracy.mean' is missing"),
    (lambda d: d["systems"][0].update(paper_accuracy=90.7), "'systems[0].paper_accuracy' must be a number from 0 to 1"),
    (lambda d: d.update(budget="fast"), "'budget' must be one of 'quick', 'full'"),
    (lambda d: d["systems"][0]["confusion"].pop(), "'systems[0].confusion' must have 4 entries"),
    (lambda d: d["systems"][0]["recall"].append(0.5), "'systems[0].recall' must have 4 entries"),
    (lambda d: d["systems"][1].update(name="net1"), "'systems[1].name' must be distinct"),
    (lambda d: d["systems"][0].update(kind="cnn"), "'systems[0].kind' must be one of"),
    (lambda d: d.pop("command"), "'command' is missing"),
    (lambda d: d["protocol"].pop("split"), "'protocol.split' is missing"),
    (lambda d: d["systems"][0]["accuracy"].update(ci95=[0.9, 0.1]), "low <= high"),
])
def test_validate_results_names_the_bad_key(edit, message):
    validate_results(results())
    data = copy.deepcopy(results())
    edit(data)
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_results(data)
