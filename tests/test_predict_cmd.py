"""``genrekit predict`` and ``genrekit export``: output formats, bad files, exit codes, exported models."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from conftest import long_folder, noise, tone, write
from genrekit.apps.cli import app
from genrekit.errors import ConfigError
from test_cli import error_lines, genrekit_command

runner = CliRunner()


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-library")
    for i, freq in enumerate((220.0, 440.0)):
        write(root / f"song{i}.wav", 0.3 * tone(freq, 5.0) + noise(5.0, seed=i))
    (root / "broken.wav").write_bytes(b"RIFF but nothing after")
    return root


def predict(*args):
    return runner.invoke(app, ["predict", *map(str, args)])


def test_help():
    for command in ("predict", "export"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_json_lists_each_file_with_genre_and_probabilities_or_error(coarse_run, coarse_model, library):
    result = predict(library, "--model", coarse_run, "--format", "json", "--workers", "1")
    assert result.exit_code == 0, result.output
    items = json.loads(result.stdout)
    assert [item["path"] for item in items] == [str(library / n) for n in ("broken.wav", "song0.wav", "song1.wav")]
    broken, *songs = items
    assert set(broken) == {"path", "error"} and broken["error"]
    for item in songs:
        assert item["genre"] in coarse_model.genres
        assert list(item["probabilities"]) == coarse_model.genres
        assert sum(item["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert "timeline" not in item
    assert "broken.wav" in result.stderr and "classified 2 of 3" in result.stderr


def test_json_top_and_timeline(coarse_run, library):
    result = predict(library / "song0.wav", "--model", coarse_run, "--format", "json", "--top", "2",
                     "--timeline", "--segment-seconds", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert len(item["top"]) == 2 and item["top"][0][0] == item["genre"]
    assert item["top"][0][1] >= item["top"][1][1]
    starts = [segment["start"] for segment in item["timeline"]]
    assert len(starts) >= 2 and starts == sorted(starts) and starts[0] == 0.0
    assert {"start", "end", "genre", "probabilities"} <= set(item["timeline"][0])


def test_csv_has_one_row_per_file(coarse_run, coarse_model, library):
    result = predict(library, "--model", coarse_run, "--format", "csv", "--workers", "1")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["broken.wav", "song0.wav", "song1.wav"]
    assert rows[0]["error"] and not rows[0]["genre"]
    for row in rows[1:]:
        assert row["genre"] in coarse_model.genres and not row["error"]
        assert sum(float(row[g]) for g in coarse_model.genres) == pytest.approx(1.0, abs=1e-4)


def test_table_shows_the_top_genres(coarse_run, library):
    result = predict(library / "song*.wav", "--model", coarse_run, "--top", "2")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["file", "genre"] and len(lines) == 3
    assert all(line.count("%") == 2 for line in lines[1:])


def test_exit_status_is_non_zero_only_when_nothing_was_classified(coarse_run, library, tmp_path):
    assert predict(library, "--model", coarse_run, "--workers", "2").exit_code == 0  # mixed
    all_bad = predict(library / "broken.wav", tmp_path / "missing.wav", "--model", coarse_run, "--format", "json")
    assert all_bad.exit_code == 1
    assert [item["path"] for item in json.loads(all_bad.stdout)] == [str(library / "broken.wav"),
                                                                     str(tmp_path / "missing.wav")]
    (tmp_path / "empty").mkdir()
    nothing = predict(tmp_path / "empty", "--model", coarse_run)
    assert nothing.exit_code == 1 and "no audio files" in nothing.stderr


def test_export_writes_onnx_and_model_files_that_predict_loads(coarse_run, library, tmp_path):
    result = runner.invoke(app, ["export", str(coarse_run), "--onnx", str(tmp_path / "m.onnx"),
                                 "--out", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    assert "m.onnx" in result.stdout and "m.pt" in result.stdout
    outputs = []
    for model in (coarse_run, tmp_path / "m.onnx", tmp_path / "m.pt"):
        run = predict(library / "song0.wav", "--model", model, "--format", "json", "--workers", "1")
        assert run.exit_code == 0, run.output
        outputs.append(json.loads(run.stdout)[0]["probabilities"])
    for other in outputs[1:]:
        assert other == pytest.approx(outputs[0], abs=1e-4)
    backend = predict(library / "song0.wav", "--model", coarse_run, "--backend", "onnx", "--format", "json")
    assert json.loads(backend.stdout)[0]["probabilities"] == pytest.approx(outputs[0], abs=1e-4)


def test_export_needs_an_output():
    result = runner.invoke(app, ["export", "somewhere"])
    assert result.exit_code == 2 and "--onnx" in result.output


def test_output_to_a_full_device_is_one_error_line(coarse_run, library):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    command = genrekit_command() + ["predict", str(library), "--model", str(coarse_run), "-j", "1",
                                    "--format", "json"]
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert result.returncode == 2
    assert error_lines(result.stderr) == ["error: disk full while writing the standard output: free some space "
                                          "and run the same command again"]
    assert "Exception ignored" not in result.stderr


def test_a_reader_that_closes_early_ends_the_command_quietly(coarse_run, library):
    """`genrekit predict ... | head -1`: the reader is gone before the output is written."""
    command = genrekit_command() + ["predict", str(library), "--model", str(coarse_run), "-j", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode != 0  # like a Unix tool stopped by SIGPIPE
    assert "Traceback" not in stderr and "Error" not in stderr and "error:" not in stderr, stderr


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0", "0.25", "-3"])
def test_segment_seconds_must_be_a_finite_length(coarse_run, library, value):
    result = predict(library / "song0.wav", "--model", coarse_run, "--timeline", "--segment-seconds", value,
                     "--format", "json")
    said = " ".join(result.stderr.replace("│", " ").split())  # typer draws a box around the line
    assert result.exit_code == 2 and "NaN" not in result.stdout
    assert f"'--segment-seconds': {float(value)} is not allowed; give a finite number, at least 0.5" in said


def test_the_library_refuses_a_non_finite_segment_length_too(coarse_model, library):
    for value in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ConfigError, match="segment_seconds must be a finite number"):
            coarse_model.predict([library / "song0.wav"], timeline=True, segment_seconds=value)
        with pytest.raises(ConfigError, match="segment_seconds must be a finite number"):
            coarse_model.predict_array(noise(5.0), 22050, timeline=True, segment_seconds=value)


def test_control_characters_in_names_are_escaped_in_the_table(coarse_run, library, tmp_path):
    odd = write(tmp_path / "two\nlines\t\x1b[31mred.wav", 0.3 * tone(330.0, 5.0) + noise(5.0, seed=3))
    (tmp_path / "bad\nname.wav").write_bytes(b"not audio")
    result = predict(tmp_path, library / "song0.wav", "--model", coarse_run, "--workers", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "\x1b" not in result.stdout  # a header and one line per classified file
    shown = str(tmp_path / "two\\nlines\\t\\x1b[31mred.wav")
    assert lines[1].startswith(shown + "  ")
    assert lines[2].startswith(str(library / "song0.wav").ljust(len(shown)) + "  ")  # the columns still line up
    assert result.stderr.splitlines()[0].startswith(f"skipped {tmp_path}/bad\\nname.wav: not a recognised")
    as_json = predict(odd, "--model", coarse_run, "--format", "json", "--workers", "1")
    assert json.loads(as_json.stdout)[0]["path"] == str(odd)  # JSON and CSV keep the name as it is


def test_paths_longer_than_libsndfile_allows_are_classified(coarse_run, tmp_path):
    path = long_folder(tmp_path) / "曲.ogg"
    write(tmp_path / "short.ogg", noise(5.0), format="OGG", subtype="VORBIS").rename(path)
    result = predict(path, "--model", coarse_run, "--format", "json", "--workers", "2")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert item["path"] == str(path) and "genre" in item and len(str(path).encode()) > 1100


# --tags and --min-confidence -------------------------------------------------------------------
def test_tags_in_table_json_and_csv(coarse_run, library):
    song = library / "song0.wav"
    table = predict(song, "--model", coarse_run, "--tags", "--top-tags", "3", "--workers", "1")
    assert table.exit_code == 0, table.output
    header, row = table.stdout.splitlines()
    assert header.split()[-1] == "tags" and row.count("%") == 3 + 3  # top 3 genres, top 3 tags

    as_json = predict(song, "--model", coarse_run, "--tags", "--format", "json", "--workers", "1")
    (item,) = json.loads(as_json.stdout)
    assert len(item["tags"]) == 50 and {"rock", "pop", "female vocalists"} <= set(item["tags"])
    assert all(0.0 <= p <= 1.0 for p in item["tags"].values())

    as_csv = predict(song, "--model", coarse_run, "--tags", "--format", "csv", "--workers", "1")
    (row,) = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert float(row["tag:rock"]) == pytest.approx(item["tags"]["rock"], abs=1e-5)
    assert sum(name.startswith("tag:") for name in row) == 50


def test_without_tags_nothing_about_tags_is_printed(coarse_run, library):
    result = predict(library / "song0.wav", "--model", coarse_run, "--format", "json", "--workers", "1")
    (item,) = json.loads(result.stdout)
    assert "tags" not in item
    table = predict(library / "song0.wav", "--model", coarse_run, "--workers", "1")
    assert "tags" not in table.stdout.splitlines()[0]


def test_min_confidence_one_answers_unknown_and_keeps_the_probabilities(coarse_run, library):
    result = predict(library / "song0.wav", "--model", coarse_run, "--format", "json", "--min-confidence", "1",
                     "--workers", "1")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    assert item["genre"] == "unknown" and sum(item["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    zero = json.loads(predict(library / "song0.wav", "--model", coarse_run, "--format", "json",
                              "--min-confidence", "0", "--workers", "1").stdout)
    assert zero[0]["genre"] == max(zero[0]["probabilities"], key=zero[0]["probabilities"].get)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "inf"])
def test_min_confidence_must_be_a_probability(coarse_run, library, value):
    result = predict(library / "song0.wav", "--model", coarse_run, "--min-confidence", value)
    assert result.exit_code == 2 and "--min-confidence" in result.output and "at most 1" in result.output


def test_aggregation_overrides_the_models_own_rule(coarse_run, library):
    """The test run's recipe (zhang2016) decides by the majority vote; ``--aggregation mean`` averages instead."""
    from genrekit.inference import load_model

    song = library / "song0.wav"

    def probabilities(*extra):
        result = predict(song, "--model", coarse_run, "--format", "json", "--workers", "1", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)[0]["probabilities"]

    own, vote, mean = probabilities(), probabilities("--aggregation", "vote"), probabilities("--aggregation", "mean")
    assert own == pytest.approx(vote, abs=1e-6) and own != pytest.approx(mean, abs=1e-3)
    (by_mean,) = load_model(coarse_run, rule="mean", workers=1).predict(song)
    assert mean == pytest.approx(by_mean.probabilities, abs=1e-5)
    result = predict(song, "--model", coarse_run, "--aggregation", "median")
    assert result.exit_code == 2 and "--aggregation" in result.output


#: Runs ``genrekit ARGS...`` in this interpreter; as it exits, writes the genrekit modules it imported
#: (a JSON list) to the file named by its first argument.
IMPORTED = """
import atexit, json, sys
out, sys.argv = sys.argv[1], ["genrekit", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(m for m in sys.modules if m.startswith("genrekit")))))
from genrekit.apps.cli import main
main()
"""


@pytest.fixture(scope="module")
def predict_imports(library, tmp_path_factory) -> set[str]:
    """The modules `genrekit predict song.wav` (the bundled model) imports."""
    import sys

    out = tmp_path_factory.mktemp("imports") / "modules.json"
    done = subprocess.run([sys.executable, "-c", IMPORTED, str(out), "predict", str(library / "song0.wav")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


@pytest.mark.parametrize("unwanted", ["genrekit.datasets.synthesis", "genrekit.evaluation", "genrekit.training",
                                      "genrekit.data"])
def test_predict_imports_neither_training_nor_the_synthesiser_nor_evaluation(predict_imports, unwanted):
    """Issue 13: classifying a file loads the inference path only."""
    assert "genrekit.inference" in predict_imports and "genrekit.apps.predict_cmd" in predict_imports
    assert not {m for m in predict_imports if m == unwanted or m.startswith(unwanted + ".")}
