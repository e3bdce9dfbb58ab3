"""genrekit.evaluation.protocols: recipes load and build; reproductions run, resume, fuse, never leak."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from genrekit import datasets, models
from genrekit.datasets import splits
from genrekit.errors import ConfigError
from genrekit.evaluation import load_recipe, papers, reproduce
from genrekit.evaluation.protocols import Plan, Source
from test_training import TINY, register_tiny

PAPER_SYSTEMS = {"yang2019": {"net1": 0.907, "net2": 0.883}, "zhang2016": {"nnet1": 0.848, "nnet2": 0.874},
                 "senac2017": {"net_STFT": 0.878, "net_MUSIC": 0.896, "FUSION1": 0.905, "FUSION2": 0.910},
                 "dong2018": {"cnn": 0.70},
                 "wang": {"CNN": 0.853, "KNN": 0.687, "decision tree": 0.6273, "random forest": 0.657,
                          "SVM": 0.6128, "logistic regression": 0.6831}}


def test_every_paper_has_a_recipe_that_loads_and_builds():
    assert set(papers()) == set(PAPER_SYSTEMS)
    for paper, expected in PAPER_SYSTEMS.items():
        recipe = load_recipe(paper)
        assert {s.name: s.paper_accuracy for s in recipe.systems} == expected
        splits.parse(recipe.split, [datasets.Track(f"{g}.{i:05d}", "/x", g) for g in datasets.GENRES
                                    for i in range(20)])
        for system in recipe.systems:
            if system.kind == "network":
                assert models.build(system.model) is not None
            elif system.kind == "classical":
                from genrekit.models import classical

                classical.build(system.model)


def tiny_recipe_text(network_options: str = "") -> str:
    """The test recipe: two tiny networks, a classical baseline and their fusion; ``network_options``
    (YAML, e.g. ``", threads: 1"``) is added to both networks' settings."""
    return f"""
paper: tiny
title: "tiny test recipe"
citation: "none"
protocol: {{split: "kfold:3", description: "3-fold"}}
systems:
  - {{name: a, model: {TINY}, paper_accuracy: 0.9, features: yang2019, clip_frames: 64, clip_hop: 32, epochs: 3{network_options}}}
  - {{name: b, model: {TINY}, paper_accuracy: 0.8, features: yang2019, clip_frames: 64, clip_hop: 64, epochs: 2,
      model_args: {{width: 16}}{network_options}}}
  - {{name: knn, model: knn, paper_accuracy: 0.7}}
  - {{name: fused, fusion: [a, b], rule: fusion1, paper_accuracy: 0.95}}
quick: {{runs: 2, epochs: 1}}
"""


RECIPE = tiny_recipe_text()


def write_recipe(folder, text: str = RECIPE) -> Path:
    """The recipe ``text`` as ``folder/tiny.yaml``, with the tiny test network registered in this process."""
    register_tiny()
    path = Path(folder) / "tiny.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def tiny_recipe(tmp_path):
    return write_recipe(tmp_path)


def run(recipe, tmp_path, **kwargs):
    source = Source("synthetic", tmp_path / "synthetic", {"n_per_genre": 3, "seconds": 4.0}, str(tmp_path / "cache"))
    return reproduce(str(recipe), source, tmp_path / "out", Plan(**kwargs), seed=0, progress=False,
                     write_report=False)


def test_reproduce_runs_every_fold_resumes_and_never_leaks(tiny_recipe, tmp_path):
    results = run(tiny_recipe, tmp_path)
    assert [s["name"] for s in results["systems"]] == ["a", "b", "knn", "fused"]
    for system in results["systems"]:
        accuracy = system["accuracy"]
        assert len(accuracy["runs"]) == 3 and accuracy["ci95"][0] <= accuracy["mean"] <= accuracy["ci95"][1]
        assert np.sum(system["confusion"]) == 30  # k-fold: every track tested exactly once
    assert json.loads((tmp_path / "out" / "results.json").read_text())["systems"][0]["name"] == "a"

    # No track of a run's test set was in its training set.
    collection = datasets.synthetic(n_per_genre=3, seconds=4.0, root=tmp_path / "synthetic")
    folds = splits.parse("kfold:3", list(collection), 0)
    for run_index, fold in enumerate(folds):
        with np.load(tmp_path / "out" / "runs" / "a" / f"run-{run_index:02d}" / "predictions.npz") as saved:
            tested = set(saved["test_ids"].tolist())
        assert tested == {t.id for t in fold.test}
        assert not tested & {t.id for t in fold.train}

    # Interrupt: the last run of system b is lost; the reproduction redoes only that run.
    kept = tmp_path / "out" / "runs" / "a" / "run-00" / "metrics.json"
    before = kept.stat().st_mtime_ns
    lost = tmp_path / "out" / "runs" / "b" / "run-02"
    for name in ("metrics.json", "predictions.npz"):
        (lost / name).unlink()
    again = run(tiny_recipe, tmp_path)
    assert kept.stat().st_mtime_ns == before and (lost / "metrics.json").exists()
    assert again["systems"][1]["accuracy"]["runs"] == results["systems"][1]["accuracy"]["runs"]


def test_quick_budget_is_labelled_and_cut(tiny_recipe, tmp_path):
    results = run(tiny_recipe, tmp_path, budget="quick")
    assert results["budget"] == "quick" and any("quick budget" in d for d in results["deviations"])
    assert len(results["systems"][0]["accuracy"]["runs"]) == 2


def test_protocol_override_and_bad_input(tiny_recipe, tmp_path):
    results = run(tiny_recipe, tmp_path, protocol="holdout:1/1")
    assert results["protocol"]["split"] == "holdout:1/1" and len(results["systems"][0]["accuracy"]["runs"]) == 1
    assert any("instead of the paper's" in d for d in results["deviations"])
    with pytest.raises(ConfigError, match="no recipe"):
        load_recipe("nobody2020")
    with pytest.raises(ConfigError, match="budget"):
        run(tiny_recipe, tmp_path, budget="huge")


def test_runs_and_systems_subsets_are_recorded(tiny_recipe, tmp_path):
    results = run(tiny_recipe, tmp_path, runs=1, systems=["a", "knn"])
    assert [s["name"] for s in results["systems"]] == ["a", "knn"]
    assert len(results["systems"][0]["accuracy"]["runs"]) == 1
    assert any("1 of the protocol's 3 runs" in d for d in results["deviations"])
    assert any("only the systems a, knn" in d for d in results["deviations"])
    with pytest.raises(ConfigError, match="no system"):
        run(tiny_recipe, tmp_path, systems=["zzz"])


def test_epoch_cap_is_applied_and_recorded(tiny_recipe, tmp_path):
    results = run(tiny_recipe, tmp_path, runs=1, systems=["a"], epochs=1)
    assert any("at most 1 of the paper's" in d for d in results["deviations"])
    with open(tmp_path / "out" / "runs" / "a" / "run-00" / "curves.csv") as stream:
        assert len(stream.read().strip().splitlines()) == 2  # header + one epoch


def test_deviations_carry_their_kind_to_results_json_and_the_report(tiny_recipe, tmp_path):
    from genrekit.evaluation import write_report

    results = run(tiny_recipe, tmp_path, protocol="kfold:3", runs=1, systems=["a"], epochs=1)
    kinds = [(d.kind, str(d)) for d in results["deviations"]]
    assert kinds == [("protocol", "protocol 'kfold:3' instead of the paper's 'kfold:3'"),
                     ("cut", "1 of the protocol's 3 runs"), ("subset", "only the systems a were run"),
                     ("cut", "a: at most 1 of the paper's 3 epochs")]
    written = json.loads((tmp_path / "out" / "results.json").read_text())["deviations"]
    assert written == [{"kind": kind, "text": text} for kind, text in kinds]
    markdown = write_report(tmp_path / "out")["report.md"].read_text()
    assert "**Budget:** full, cut: 1 of the protocol's 3 runs; a: at most 1 of the paper's 3 epochs." in markdown
