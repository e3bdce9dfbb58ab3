"""Run a paper's experiment under its protocol: ``genrekit reproduce PAPER``.

A recipe (``genrekit/recipes/<paper>.yaml``) names the systems of a paper (networks, classical
baselines, late fusions of two networks), the paper's accuracy for each, and the protocol
(a split spec: repeated holdout, k-fold, artist-filtered). :func:`reproduce` trains every
system on every split of the protocol with :func:`genrekit.training.train`, each run in its
own run directory::

    OUT/runs/<system>/run-00/ ...       one training run directory per split (or seed)
    OUT/results.json                    every system: accuracy per run, mean, std, bootstrap CI,
                                        summed confusion, per-genre recall, the paper's number
    OUT/report.md, OUT/report.html      written by genrekit.evaluation.report

Runs resume: a finished run (``metrics.json``) is read back, an interrupted one continues
from its last checkpoint, so a reproduction interrupted after three of ten runs continues
with the fourth.

Protocol runs: a split spec with several splits (``holdout:8/1/1x10``, ``kfold:10``) gives
one run per split; a spec with one split (``filtered``) is run ``runs`` times with training
seeds ``seed, seed + 1, ...``. ``budget="quick"`` cuts runs and epochs (recipe's ``quick``)
and says so in the results.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import genrekit
from genrekit import aggregation
from genrekit.errors import ConfigError
from genrekit.evaluation.metrics import bootstrap_ci, classification, recall, summarize
from genrekit.evaluation.report import BUDGETS
from genrekit.files import atomic_write_text
from genrekit.runs import RunDir

__all__ = ["Recipe", "SystemRecipe", "papers", "load_recipe", "reproduce", "BUDGETS"]


@dataclass
class SystemRecipe:
    """One system of a paper: a model, or a late fusion of two other systems."""

    name: str
    model: str | None = None
    fusion: list[str] | None = None
    rule: str | None = None
    paper_accuracy: float | None = None
    paper_note: str = ""
    requires_audio: bool = False
    options: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        if self.fusion:
            return "fusion"
        from genrekit import models

        return models.info(self.model).kind


@dataclass
class Recipe:
    """A paper's experiment, as read from its YAML."""

    paper: str
    title: str
    citation: str
    split: str
    description: str
    systems: list[SystemRecipe]
    runs: int | None = None
    quick: dict = field(default_factory=dict)
    coarse_mel: dict = field(default_factory=dict)


def papers() -> list[str]:
    """The papers that have a recipe."""
    folder = resources.files("genrekit.recipes")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(paper: str | os.PathLike) -> Recipe:
    """Read and check a recipe: ``genrekit/recipes/<paper>.yaml``, or any recipe YAML file by path."""
    if str(paper).endswith((".yaml", ".yml")) and Path(paper).is_file():
        data = yaml.safe_load(Path(paper).read_text())
    elif paper in papers():
        data = yaml.safe_load(resources.files("genrekit.recipes").joinpath(f"{paper}.yaml").read_text())
    else:
        raise ConfigError(f"no recipe for {paper!r}; papers: {', '.join(papers())} (or a path to a recipe .yaml)")
    try:
        protocol = data["protocol"]
        systems = []
        for entry in data["systems"]:
            entry = dict(entry)
            known = {"name", "model", "fusion", "rule", "paper_accuracy", "paper_note", "requires_audio"}
            options = {k: entry.pop(k) for k in list(entry) if k not in known}
            systems.append(SystemRecipe(**entry, options=options))
        recipe = Recipe(data["paper"], data["title"], data["citation"], protocol["split"],
                        protocol.get("description", ""), systems, protocol.get("runs"),
                        data.get("quick", {}), data.get("coarse_mel", {}))
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"recipe {paper}.yaml is malformed: {exc}") from None
    names = {s.name for s in recipe.systems}
    for system in recipe.systems:
        if bool(system.model) == bool(system.fusion):
            raise ConfigError(f"recipe {paper}: system {system.name!r} needs a model or a fusion, not both")
        if system.fusion and (len(system.fusion) != 2 or not set(system.fusion) <= names
                              or system.rule not in ("fusion1", "fusion2")):
            raise ConfigError(f"recipe {paper}: fusion {system.name!r} needs two systems of the recipe "
                              "and rule fusion1 or fusion2")
    return recipe


def _versions() -> dict[str, str]:
    import torch

    return {"genrekit": genrekit.__version__, "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "platform": platform.platform()}


def _test_predictions(run_dir: Path) -> dict[str, Any]:
    """Test-track clip probabilities of a finished run, from its predictions.npz."""
    return RunDir(run_dir).read_predictions("test")


def _system_summary(system: SystemRecipe, per_run: list[dict], n_classes: int, run_dirs: list[str]) -> dict:
    """Accuracy per run, mean / std, bootstrap CI over the pooled test decisions, summed confusion."""
    correct = np.concatenate([r["correct"] for r in per_run])
    confusion = np.sum([r["confusion"] for r in per_run], axis=0)
    low, high = bootstrap_ci(correct)
    accuracy = summarize([float(r["correct"].mean()) for r in per_run])
    accuracy.update(ci95=[low, high], ci_method=f"bootstrap over {correct.size} pooled test decisions "
                                                  f"of {len(per_run)} run(s), 2000 resamples")
    clip = [r["clip_accuracy"] for r in per_run if r.get("clip_accuracy") is not None]
    return {"name": system.name, "model": system.model or "+".join(system.fusion), "kind": system.kind,
            "paper_accuracy": system.paper_accuracy, "paper_note": system.paper_note, "accuracy": accuracy,
            "clip_accuracy": summarize(clip) if clip else None, "confusion": confusion.tolist(),
            "recall": recall(confusion), "run_dirs": run_dirs}


def _decisions(predictions: dict, rule: str, n_classes: int) -> dict:
    decided = aggregation.decide_tracks(predictions["clips"], rule)
    return classification(predictions["labels"], decided, n_classes)


def _fuse(a: dict, b: dict, rule: str, n_classes: int) -> dict:
    if a["ids"] != b["ids"]:
        raise ConfigError("cannot fuse runs that were tested on different tracks")
    fuse = aggregation.fusion1 if rule == "fusion1" else aggregation.fusion2
    decided = np.array([fuse(p, q) for p, q in zip(a["clips"], b["clips"])])
    return classification(a["labels"], decided, n_classes)


def reproduce(paper: str, dataset: str = "synthetic", root: str | os.PathLike | None = None,
              out: str | os.PathLike = "reproductions", budget: str = "full", protocol: str | None = None,
              seed: int = 0, dataset_options: dict | None = None, cache: str | None = None,
              progress: bool = True, write_report: bool = True, command: str | None = None,
              runs: int | None = None, systems: list[str] | None = None,
              epochs: int | None = None) -> dict:
    """Train and evaluate every system of a paper's recipe under its protocol.

    Parameters
    ----------
    paper : str
        A recipe name (:func:`papers`): ``yang2019``, ``zhang2016``, ``senac2017``, ``dong2018``, ``wang``.
    dataset : str
        ``gtzan``, ``folder``, ``synthetic`` or ``coarse-mel``.
    root : path, optional
    out : path
        The reproduction directory.
    budget : {"full", "quick"}
        ``quick`` runs the recipe's cut-down version (fewer runs and epochs) and says so.
    protocol : str, optional
        A split spec replacing the paper's, e.g. ``"filtered"`` (on coarse-mel, ``filtered`` means
        ``filtered:dev``: the data has no test list).
    seed : int
    dataset_options : dict, optional
        Loader arguments (synthetic: ``n_per_genre``, ``seconds``).
    runs : int, optional
        Run only the first ``runs`` runs (splits / seeds) of the protocol; recorded as a deviation.
    systems : list of str, optional
        Run only these systems of the recipe (fusions need their two systems); recorded as a deviation.
    epochs : int, optional
        Train networks for at most ``epochs`` epochs (fewer than the paper's is recorded as a deviation).

    Returns
    -------
    dict
        The contents of ``results.json``.
    """
    from genrekit.data import load_collection
    from genrekit.datasets import splits
    from genrekit.training import TrainConfig, train

    recipe = load_recipe(paper)
    if budget not in BUDGETS:
        raise ConfigError(f"budget must be one of {BUDGETS}, got {budget!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    split = protocol or recipe.split
    if dataset == "coarse-mel" and split == "filtered":
        split = "filtered:dev"
    deviations: list[str] = []
    if protocol:
        deviations.append(f"protocol {split!r} instead of the paper's {recipe.split!r}")
    collection = load_collection(dataset, root, dataset_options)
    n_splits = len(splits.parse(split, list(collection), seed))
    protocol_runs = recipe.runs or n_splits
    runs_wanted = runs
    runs = protocol_runs if runs_wanted is None else max(1, min(int(runs_wanted), protocol_runs))
    if runs < protocol_runs:
        deviations.append(f"{runs} of the protocol's {protocol_runs} runs")
    selected = recipe.systems
    if systems:
        unknown = sorted(set(systems) - {s.name for s in recipe.systems})
        if unknown:
            raise ConfigError(f"recipe {recipe.paper} has no system {unknown}; systems: "
                              f"{', '.join(s.name for s in recipe.systems)}")
        selected = [s for s in recipe.systems if s.name in systems]
        deviations.append(f"only the systems {', '.join(s.name for s in selected)} were run")
    if budget == "quick":
        runs = min(runs, recipe.quick.get("runs", 2))
        deviations.append(f"quick budget: {runs} run(s) of at most {recipe.quick.get('epochs')} epochs; "
                          "not comparable to the paper")
    overrides: dict[str, Any] = {}
    if dataset == "coarse-mel":
        overrides.update(recipe.coarse_mel)
        deviations.append("data: gtzan-coarse-mel (639 real GTZAN tracks as coarse 8-bit log-mel, 128 bands, "
                          "77.5 ms per column; no audio): every network reads the coarse_mel representation "
                          f"with clips of {recipe.coarse_mel.get('clip_frames')} columns instead of its own "
                          "features; 639 tracks instead of 1000")
    n_classes = len(collection.genres)
    predictions: dict[str, list[dict]] = {}
    results_systems = []
    for system in selected:
        if system.fusion:
            parts = [predictions.get(name) for name in system.fusion]
            if not all(parts):
                deviations.append(f"{system.name}: not run, because {' or '.join(system.fusion)} was not run")
                continue
            per_run = [_fuse(a, b, system.rule, n_classes) for a, b in zip(*parts)]
            results_systems.append(_system_summary(system, per_run, n_classes, []))
            continue
        if system.requires_audio and dataset == "coarse-mel":
            deviations.append(f"{system.name}: not run, because its features need audio and coarse-mel has none")
            continue
        per_run, run_dirs, system_predictions = [], [], []
        for run in range(runs):
            split_index, run_seed = (run, seed) if n_splits > 1 else (0, seed + run)
            config = TrainConfig(model=system.model, dataset=dataset, root=str(root) if root else None,
                                 dataset_options=dict(dataset_options or {}), split=split,
                                 split_index=split_index, seed=run_seed, cache=cache,
                                 **{k: v for k, v in overrides.items() if k in ("clip_frames", "clip_hop")},
                                 **system.options)
            if system.kind == "network":
                paper_epochs = config.resolved().epochs
                cap = min(recipe.quick.get("epochs", paper_epochs) if budget == "quick" else paper_epochs,
                          epochs or paper_epochs)
                if cap < paper_epochs:
                    config.epochs = cap
                    note = f"{system.name}: at most {cap} of the paper's {paper_epochs} epochs"
                    if budget != "quick" and note not in deviations:
                        deviations.append(note)
            run_dir = out / "runs" / system.name.replace(" ", "_") / f"run-{run:02d}"
            finished = RunDir(run_dir)
            if finished.finished():
                metrics = finished.read_metrics()
            else:
                metrics = train(config, run_dir, resume=finished.resumable(), progress=progress)
            saved = _test_predictions(run_dir)
            rule = metrics.get("aggregation", config.resolved().aggregation)
            decided = _decisions(saved, rule, n_classes)
            decided["clip_accuracy"] = metrics["test"].get("clip_accuracy") if system.kind == "network" else None
            per_run.append(decided)
            system_predictions.append(saved)
            run_dirs.append(str(run_dir.relative_to(out)))
            if progress:
                print(f"{paper} {system.name} run {run + 1}/{runs}: test track accuracy "
                      f"{decided['correct'].mean():.3f}", file=sys.stderr, flush=True)
        predictions[system.name] = system_predictions
        results_systems.append(_system_summary(system, per_run, n_classes, run_dirs))
    results = {
        "paper": recipe.paper, "title": recipe.title, "citation": recipe.citation,
        "dataset": {"name": dataset, "root": str(collection.root), "tracks": len(collection),
                    "description": f"{collection.name}: {len(collection)} tracks in {n_classes} genres"},
        "protocol": {"name": split, "split": split, "runs": runs, "description": recipe.description
                     if not protocol else f"{split} (replacing the paper's {recipe.split})"},
        "budget": budget, "deviations": deviations,
        "command": command or (f"genrekit.evaluation.reproduce({paper!r}, dataset={dataset!r}, root={str(root)!r}, "
                               f"budget={budget!r}, protocol={protocol!r}, seed={seed})"),
        "versions": _versions(), "genres": list(collection.genres), "systems": results_systems,
    }
    atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    if write_report:
        from genrekit.evaluation.report import write_report as write

        write(out)
    return results
