"""genrekit.evaluation.report and ``genrekit report``: files, self-contained HTML, honest tables, clear errors."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from genrekit.apps.cli import app
from genrekit.errors import ConfigError
from genrekit.evaluation.report import combine, write_report
from genrekit.evaluation.results import load_results

GENRES = ["blues", "classical", "jazz", "rock"]
CURVES = ("epoch,train_loss,train_clip_accuracy,valid_loss,valid_clip_accuracy,valid_track_accuracy,seconds\n"
          "1,1.30,0.41,1.25,0.45,0.50,2.1\n2,0.90,0.62,1.02,0.58,0.625,2.0\n3,0.71,0.73,0.97,0.61,0.75,2.0\n")


def results(paper: str = "yang2019", budget: str = "quick") -> dict:
    """A results.json of two systems: a network with two runs, and a fusion system without run dirs."""
    return {
        "paper": paper,
        "title": f"{paper}: duplicated convolutional layers",
        "citation": "H. Yang, W.-Q. Zhang, Music Genre Classification Using Duplicated Convolutional Layers, "
                    "Interspeech 2019",
        "dataset": {"name": "synthetic", "root": "/tmp/synthetic", "tracks": 40, "description": "generated tones"},
        "protocol": {"name": "holdout 8/1/1 x 2", "split": "holdout:8/1/1x2", "runs": 2,
                     "description": "random track-level splits"},
        "budget": budget,
        "deviations": ["3 epochs instead of 150", "synthetic data instead of GTZAN"],
        "command": f"genrekit reproduce {paper} --dataset synthetic --budget {budget} --out DIR",
        "versions": {"genrekit": "0.1.0", "python": "3.11.2", "torch": "2.13.0", "numpy": "2.1", "platform": "linux"},
        "genres": GENRES,
        "systems": [
            {"name": "net1", "model": "yang2019_net1", "kind": "network", "paper_accuracy": 0.907,
             "paper_note": "GTZAN, 8/1/1 random split, mean of 10 runs",
             "accuracy": {"mean": 0.8125, "std": 0.0625, "ci95": [0.625, 0.9375], "runs": [0.75, 0.875],
                          "ci_method": "bootstrap over test tracks, 2000 resamples"},
             "clip_accuracy": {"mean": 0.7, "std": 0.05, "runs": [0.65, 0.75]},
             "confusion": [[4, 0, 0, 0], [0, 3, 1, 0], [0, 1, 3, 0], [1, 0, 0, 3]],
             "recall": [1.0, 0.75, 0.75, 0.75],
             "run_dirs": ["runs/net1/run-00", "runs/net1/run-01"]},
            {"name": "fusion", "model": "fusion1(net1, net2)", "kind": "fusion", "paper_accuracy": None,
             "paper_note": None,
             "accuracy": {"mean": 0.84375, "std": 0.03125, "ci95": [0.6875, 0.96875], "runs": [0.8125, 0.875],
                          "ci_method": "bootstrap over test tracks, 2000 resamples"},
             "clip_accuracy": None,
             "confusion": [[4, 0, 0, 0], [0, 4, 0, 0], [0, 1, 3, 0], [0, 0, 1, 3]],
             "recall": [1.0, 1.0, 0.75, 0.75],
             "run_dirs": []},
        ],
    }


def reproduction(directory, data: dict):
    """A reproduction directory: results.json and the network's two run directories with curves.csv."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(data))
    for run_dir in data["systems"][0]["run_dirs"]:
        (directory / run_dir).mkdir(parents=True)
        (directory / run_dir / "curves.csv").write_text(CURVES)
    return directory


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One report, written once for the tests that only read it."""
    directory = reproduction(tmp_path_factory.mktemp("report") / "yang2019", results())
    return directory, write_report(directory)


def test_report_files_exist_and_are_returned(written):
    directory, paths = written
    expected = {"report.md", "report.html", "figures.json", "figures/accuracy.png", "figures/confusion-net1.png",
                "figures/confusion-fusion.png", "figures/curves-net1.png"}
    assert set(paths) == expected
    for name, path in paths.items():
        assert path == directory / name and path.stat().st_size > 0
    assert (directory / "figures" / "confusion-net1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The fusion system has no run directories, so no curves, and the report says why.
    assert "fusion**: no training curves" in paths["report.md"].read_text()


def test_html_is_self_contained(written):
    _, paths = written
    page = paths["report.html"].read_text()
    pngs = [name for name in paths if name.endswith(".png")]
    assert page.count('src="data:image/png;base64,') == len(pngs) == 4
    for external in ('src="http', "<script", "<link", 'href="http', "url("):
        assert external not in page
    assert "<style>" in page and page.rstrip().endswith("</html>")


def test_table_holds_ours_beside_the_paper(written):
    _, paths = written
    markdown, page = paths["report.md"].read_text(), paths["report.html"].read_text()
    line = next(line for line in markdown.splitlines() if line.startswith("| **net1**"))
    for text in ("| 81.2 % ± 6.2 | 2 | 62.5–93.8 % |", "90.7 %", "-9.5 pts", "70.0 % ± 5.0",
                 "GTZAN, 8/1/1 random split", "holdout 8/1/1 x 2", "`holdout:8/1/1x2`", "synthetic (40 tracks)",
                 "quick"):
        assert text in line, text
    assert "81.2 % ± 6.2" in page and "90.7 %" in page
    fusion = next(line for line in markdown.splitlines() if line.startswith("| **fusion**"))
    assert "| 84.4 % ± 3.1 | 2 |" in fusion and "| – | – | – |" in fusion  # no paper number, no clip accuracy
    # Per-genre recall: genres x systems.
    assert "| classical | 75.0 % | 100.0 % |" in markdown
    # Provenance: the command, the deviations and the versions.
    assert "genrekit reproduce yang2019 --dataset synthetic --budget quick --out DIR" in markdown
    assert "- 3 epochs instead of 150" in markdown and "| `torch` | 2.13.0 |" in markdown


def test_quick_budget_warns_before_any_number(written, tmp_path):
    _, paths = written
    markdown = paths["report.md"].read_text()
    assert markdown.index("WARNING") < markdown.index("%")
    assert "not comparable to the paper" in markdown.split("\n\n")[1]
    page = paths["report.html"].read_text()
    assert page.index('class="warning"') < page.index("<table")
    full = write_report(reproduction(tmp_path / "full", results(budget="full")))
    assert "WARNING" not in full["report.md"].read_text() and 'class="warning"' not in full["report.html"].read_text()


def test_a_cut_full_protocol_says_so_in_the_table_and_the_budget_line(tmp_path):
    data = results(budget="full")
    data["deviations"] = ["3 of the protocol's 10 runs", "net1: at most 30 of the paper's 150 epochs"]
    markdown = write_report(reproduction(tmp_path / "cut", data))["report.md"].read_text()
    assert "| full, cut |" in markdown
    assert "**Budget:** full, cut: 3 of the protocol's 10 runs; net1: at most 30 of the paper's 150 epochs." in markdown
    whole = write_report(reproduction(tmp_path / "whole", results(budget="full")))["report.md"].read_text()
    assert "| full |" in whole and "(the paper's protocol)" in whole


def test_the_report_flags_a_cut_by_the_kind_not_the_wording(tmp_path):
    data = results(budget="full")
    data["deviations"] = [{"kind": "cut", "text": "two runs fewer"},
                          {"kind": "note", "text": "3 of the protocol's 10 runs, at most 5 epochs (only words)"}]
    markdown = write_report(reproduction(tmp_path / "cut", data))["report.md"].read_text()
    assert "| full, cut |" in markdown and "**Budget:** full, cut: two runs fewer." in markdown
    assert "- 3 of the protocol's 10 runs, at most 5 epochs (only words)" in markdown
    numbers = json.loads((tmp_path / "cut" / "figures.json").read_text())
    assert numbers["reproductions"][0]["deviations"] == data["deviations"]


def test_figures_json_holds_the_numbers(written):
    _, paths = written
    numbers = json.loads(paths["figures.json"].read_text())
    (only,) = numbers["reproductions"]
    net1 = only["table"][0]
    assert net1["accuracy"]["mean"] == 0.8125 and net1["paper_accuracy"] == 0.907
    assert net1["difference"] == pytest.approx(0.8125 - 0.907)
    assert only["recall"]["fusion"] == [1.0, 1.0, 0.75, 0.75]
    confusion = numbers["figures"]["figures/confusion-net1.png"]
    assert confusion["matrix"][3] == [1, 0, 0, 3] and confusion["tracks"] == 16
    curves = numbers["figures"]["figures/curves-net1.png"]["runs"]
    assert curves["runs/net1/run-01"]["valid_track_accuracy"] == [0.5, 0.625, 0.75]
    # Every percentage the Markdown shows comes from a number in figures.json.
    shown = {float(x) for x in re.findall(r"(\d+\.\d) %", paths["report.md"].read_text())}
    text = paths["figures.json"].read_text()
    values = {round(100 * float(x), 1) for x in re.findall(r"(?<![\w.])(0\.\d+|1\.0)(?![\d])", text)}
    assert shown <= values | {100.0}


def test_a_broken_or_missing_results_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="results.json not found"):
        write_report(tmp_path)
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_results(tmp_path)
    data = results()
    del data["systems"][0]["accuracy"]["runs"]
    (tmp_path / "results.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"results\.json: 'systems\[0\]\.accuracy\.runs' is missing"):
        write_report(tmp_path)


def test_combine_puts_reproductions_side_by_side(tmp_path):
    first = reproduction(tmp_path / "a", results("yang2019", "quick"))
    second = reproduction(tmp_path / "b", results("yang2019", "full"))  # same paper: figures must not collide
    paths = combine([first, second], tmp_path / "both")
    markdown = paths["report.md"].read_text()
    table = [line for line in markdown.splitlines() if line.startswith("| `yang2019` |")]
    assert len(table) == 4 and markdown.count("\n|") >= 4
    assert "## yang2019: duplicated convolutional layers (quick budget)" in markdown
    assert "## yang2019: duplicated convolutional layers (full budget)" in markdown
    assert markdown.index("WARNING") < markdown.index("## All systems")
    pngs = [name for name in paths if name.endswith(".png")]
    assert len(pngs) == 1 + 2 * 3 and len(set(pngs)) == len(pngs)
    assert paths["report.html"].read_text().count("data:image/png;base64,") == len(pngs)
    assert len(json.loads(paths["figures.json"].read_text())["reproductions"]) == 2


def test_report_command(tmp_path):
    runner = CliRunner()
    first = reproduction(tmp_path / "a", results("yang2019"))
    second = reproduction(tmp_path / "b", results("senac2017", "full"))
    result = runner.invoke(app, ["report", str(first), "--out", str(tmp_path / "one")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "one" / "report.html").is_file() and "report.html" in result.output
    result = runner.invoke(app, ["report", str(first), str(second), "--out", str(tmp_path / "two")])
    assert result.exit_code == 0, result.output
    assert "senac2017" in (tmp_path / "two" / "report.md").read_text()
    result = runner.invoke(app, ["report", str(first), str(second)])
    assert result.exit_code == 2 and "--out" in result.output
