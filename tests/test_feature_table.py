"""gtzan-features: a per-track feature table read as a dataset (generated tables, and Kaggle's real one when
``../shared/data`` is there): ids as GTZAN's, clear errors, both kinds of split with no track on two sides,
and ``reproduce wang`` on it (networks skipped, the filtered valid list reported beside the test list)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from genrekit import datasets
from genrekit.apps.cli import app
from genrekit.datasets import splits
from genrekit.datasets.feature_table import COLUMNS, feature_table, track_id
from genrekit.errors import ConfigError, DatasetError

runner = CliRunner()
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtzan-kaggle-features"


def filtered_ids(per_part: dict[str, int]) -> list[str]:
    """The first ``n`` ids of each genre on each artist-filtered list (e.g. ``{"train": 4, ...}``)."""
    lists = splits.filtered_lists()
    chosen = []
    for part, n in per_part.items():
        for genre in datasets.GENRES:
            chosen += [i for i in lists[part] if i.startswith(genre + ".")][:n]
    return chosen


def write_table(path: Path, ids: list[str], seed: int = 0, label: bool = True, extra: dict | None = None) -> Path:
    """A table with Kaggle's columns: each genre's rows around a mean of its own (learnable), a ``length``."""
    rng = np.random.default_rng(seed)
    centres = {g: rng.normal(0, 1, len(COLUMNS)) for g in datasets.GENRES}
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as stream:
        out = csv.writer(stream)
        out.writerow(["filename", "length", *COLUMNS] + (["label"] if label else []))
        for tid in ids:
            genre = tid.split(".")[0]
            values = centres[genre] + rng.normal(0, 0.5, len(COLUMNS))
            row = [f"{tid}.wav", 661794, *(f"{v:.6f}" for v in values)] + ([genre] if label else [])
            out.writerow([(extra or {}).get((tid, c), v) for c, v in zip(["filename", "length", *COLUMNS, "label"], row)])
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """140 tracks: per genre 8 of the filtered train list, 2 of valid, 4 of test."""
    return write_table(tmp_path_factory.mktemp("table") / "features_30_sec.csv",
                       filtered_ids({"train": 8, "valid": 2, "test": 4}))


def test_a_table_is_a_collection_of_gtzan_ids_with_one_column_of_57_features(table):
    collection = datasets.load("gtzan-features", table.parent)  # the folder: features_30_sec.csv in it
    assert len(collection) == 140 and collection.genres == datasets.GENRES
    assert collection.counts() == {g: 14 for g in datasets.GENRES}
    first = collection[0]
    assert first.id == "blues." + first.id.split(".")[1] and first.path == f"{table}#{first.id}"
    assert collection.spec == "kaggle" and len(COLUMNS) == 57
    with open(table) as stream:
        row = next(csv.DictReader(stream))
    values = collection.features[track_id(row["filename"])]
    assert values.shape == (57, 1) and values.dtype == np.float32
    assert np.allclose(values[:, 0], [float(row[c]) for c in COLUMNS], rtol=1e-6)
    assert "length" not in COLUMNS and COLUMNS[0] == "chroma_stft_mean" and COLUMNS[-1] == "mfcc20_var"


def test_without_a_label_column_the_genre_is_the_ids_prefix(tmp_path):
    collection = feature_table(write_table(tmp_path / "t.csv", ["rock.00001", "jazz.00002"], label=False))
    assert [(t.id, t.genre) for t in collection] == [("rock.00001", "rock"), ("jazz.00002", "jazz")]
    assert track_id("blues.00000.wav") == "blues.00000" and track_id("x/blues.00000.au") == "blues.00000"


@pytest.mark.parametrize("change, says", [
    ({("rock.00001", "rms_mean"): "n/a"}, r"line 2, column rms_mean: 'n/a' is not a finite number"),
    ({("rock.00001", "tempo"): "inf"}, r"column tempo: 'inf' is not a finite number"),
    ({("rock.00001", "filename"): "rock.00001.3.wav"}, r"is a segment of a track .*features_30_sec\.csv"),
    ({("jazz.00002", "filename"): "rock.00001.wav"}, r"line 3: a second row for track 'rock\.00001'"),
])
def test_a_bad_row_is_named_by_line_and_column(tmp_path, change, says):
    with pytest.raises(DatasetError, match=says):
        feature_table(write_table(tmp_path / "t.csv", ["rock.00001", "jazz.00002"], extra=change))


def test_a_table_that_is_not_one_is_refused_with_what_it_needs(tmp_path):
    with pytest.raises(DatasetError, match="not found: the gtzan-features dataset is a CSV table"):
        feature_table(tmp_path)
    (tmp_path / "a.csv").write_text("name,rms_mean\nblues.00000.wav,1\n")
    with pytest.raises(DatasetError, match="no file-name column; the table needs one of filename"):
        feature_table(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("filename,rms_mean\nblues.00000.wav,1\n")
    with pytest.raises(DatasetError, match="missing feature column.*chroma_stft_mean"):
        feature_table(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text(",".join(["filename", *COLUMNS]) + "\n")
    with pytest.raises(DatasetError, match="has no rows"):
        feature_table(tmp_path / "c.csv")


def no_track_on_two_sides(split) -> None:
    parts = [{t.id for t in part} for part in (split.train, split.valid, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])


def test_every_kind_of_split_keeps_every_track_on_one_side(table):
    collection = feature_table(table)
    for split in splits.parse("holdout:7/3x3", list(collection), seed=0):
        assert (len(split.train), len(split.valid), len(split.test)) == (100, 0, 40)  # stratified: 10 + 4 of each genre
        no_track_on_two_sides(split)
    folds = splits.parse("kfold:5/valid0", list(collection), seed=0)
    assert len(folds) == 5 and sorted(t.id for f in folds for t in f.test) == sorted(t.id for t in collection)
    for fold in folds:
        no_track_on_two_sides(fold)
    [filtered] = splits.parse("filtered", list(collection))
    assert (len(filtered.train), len(filtered.valid), len(filtered.test)) == (80, 20, 40)
    no_track_on_two_sides(filtered)
    lists = splits.filtered_lists()
    assert {t.id for t in filtered.test} <= set(lists["test"]) and {t.id for t in filtered.train} <= set(lists["train"])


def test_a_baseline_that_cannot_be_fitted_on_so_few_tracks_says_so(tmp_path):
    table = write_table(tmp_path / "t.csv", filtered_ids({"train": 3, "test": 1}))
    result = runner.invoke(app, ["train", "--model", "svm", "--dataset", "gtzan-features", "--root", str(table),
                                 "--split", "filtered", "--out", str(tmp_path / "run")])
    assert isinstance(result.exception, ConfigError)  # the command line prints it as one line, exit 2
    assert "svm: cannot be fitted on these 30 training tracks" in str(result.exception)


def test_reproduce_wang_on_a_table_runs_the_baselines_and_reports_the_valid_list(table, tmp_path):
    out = tmp_path / "repro"
    result = runner.invoke(app, ["reproduce", "wang", "--dataset", "gtzan-features", "--root", str(table),
                                 "--protocol", "filtered", "--budget", "quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert [s["name"] for s in results["systems"]] == ["KNN", "decision tree", "random forest", "SVM",
                                                       "logistic regression"]
    kinds = {d["kind"]: d["text"] for d in results["deviations"]}
    assert "CNN: not run, because a network reads spectrograms" in kinds["skipped"]
    assert "gtzan-features" in kinds["data"]
    for system in results["systems"]:
        assert system["accuracy"]["mean"] > 0.5  # the generated genres are learnable
        valid = system["valid_accuracy"]
        assert valid["tracks"] == 20 and 0 <= valid["ci95"][0] <= valid["mean"] <= valid["ci95"][1] <= 1
        assert "held out" in valid["note"] and "40 test tracks" in system["accuracy"]["ci_method"]
    assert "validation tracks" in (out / "report.md").read_text()
    assert "Wang" in result.output or "paper" in result.output


@pytest.mark.skipif(not (SHARED / "features_30_sec.csv").is_file(), reason="the Kaggle table is not in ../shared")
def test_the_real_kaggle_table_is_all_of_gtzan_on_the_filtered_lists():
    collection = datasets.load("gtzan-features", SHARED)
    assert len(collection) == 1000 and collection.counts() == {g: 100 for g in datasets.GENRES}
    assert "jazz.00054" in collection  # damaged as WAV in the common copy; the table has its row
    [filtered] = splits.parse("filtered", list(collection))
    assert (len(filtered.train), len(filtered.valid), len(filtered.test), len(filtered.excluded)) == (443, 197, 290, 70)
    assert not filtered.missing
    no_track_on_two_sides(filtered)
    for split in splits.parse("holdout:7/3x3", list(collection), seed=0):
        assert (len(split.train), len(split.test)) == (700, 300)
        no_track_on_two_sides(split)
    assert all(np.isfinite(v).all() and v.shape == (57, 1) for v in collection.features.values())


@pytest.mark.skipif(not (SHARED / "features_30_sec.csv").is_file(), reason="the Kaggle table is not in ../shared")
def test_the_acceptance_command_on_the_real_table_writes_wangs_numbers_beside_ours(tmp_path):
    result = runner.invoke(app, ["reproduce", "wang", "--dataset", "gtzan-features", "--root", str(SHARED),
                                 "--systems", "KNN,logistic regression", "--budget", "quick", "--out",
                                 str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert "paper 68.7%" in result.output and "paper 68.3%" in result.output
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["dataset"]["tracks"] == 1000 and results["protocol"]["split"] == "holdout:7/3"
    for system in results["systems"]:
        assert 0.45 < system["accuracy"]["mean"] < 0.9 and "test tracks" in system["accuracy"]["ci_method"]


def test_a_protocol_of_many_splits_given_instead_runs_all_of_them(table, tmp_path):
    """``--protocol holdout:7/3x4`` runs its four splits, not the recipe's three runs."""
    result = runner.invoke(app, ["reproduce", "wang", "--dataset", "gtzan-features", "--root", str(table),
                                 "--protocol", "holdout:7/3x4", "--systems", "KNN", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    [knn] = json.loads((tmp_path / "r" / "results.json").read_text())["systems"]
    assert len(knn["accuracy"]["runs"]) == 4 and len(knn["run_dirs"]) == 4
