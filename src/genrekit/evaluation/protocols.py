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

Where the runs are executed is a :data:`Runner`: here one after another (:func:`run_here`), or as
Ray tasks across a cluster (:func:`run_on_ray`, ``reproduce(..., ray="auto")``), each writing its
own run directory under ``OUT`` by the same resume rule. Results, fusions and the report are
computed in the calling process either way.

Protocol runs: a split spec with several splits (``holdout:8/1/1x10``, ``kfold:10``) gives
one run per split; a spec with one split (``filtered``) is run ``runs`` times with training
seeds ``seed, seed + 1, ...``. A :class:`Plan` says what to run of the paper's protocol:
``budget="quick"`` cuts runs and epochs (recipe's ``quick``); another split, fewer runs or
epochs, some systems only. Every departure from the paper is recorded in ``results.json``
as a :class:`~genrekit.evaluation.results.Deviation` with its kind (``cut``, ``protocol``,
``subset``, ``data``, ``skipped``), which is what the report decides by.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import genrekit
from genrekit import aggregation
from genrekit.errors import ConfigError, GenrekitError
from genrekit.metrics import bootstrap_ci, classification, recall, summarize
from genrekit.evaluation.results import BUDGETS, Deviation, Results, write_results
from genrekit.runs import RunDir

__all__ = ["Recipe", "SystemRecipe", "Source", "Plan", "Runner", "papers", "load_recipe", "reproduce", "run_here",
           "run_on_ray"]


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


@dataclass(frozen=True)
class Source:
    """The data a reproduction runs on.

    Parameters
    ----------
    dataset : str
        ``gtzan``, ``folder``, ``synthetic`` or ``coarse-mel``.
    root : path, optional
        Where the dataset is (``synthetic``: where it is generated).
    options : dict, optional
        Loader arguments (synthetic: ``n_per_genre``, ``seconds``).
    cache : str, optional
        The feature cache folder.
    """

    dataset: str = "synthetic"
    root: str | os.PathLike | None = None
    options: dict | None = None
    cache: str | None = None


@dataclass(frozen=True)
class Plan:
    """What to run of a paper's protocol; anything other than the paper's is recorded as a deviation.

    Parameters
    ----------
    budget : {"full", "quick"}
        ``quick`` runs the recipe's cut-down version (fewer runs and epochs) and says so.
    protocol : str, optional
        A split spec replacing the paper's, e.g. ``"filtered"`` (on coarse-mel, ``filtered`` means
        ``filtered:dev``: the data has no test list).
    runs : int, optional
        Run only the first ``runs`` runs (splits / seeds) of the protocol.
    systems : sequence of str, optional
        Run only these systems of the recipe (fusions need their two systems).
    epochs : int, optional
        Train networks for at most ``epochs`` epochs.
    """

    budget: str = "full"
    protocol: str | None = None
    runs: int | None = None
    systems: Sequence[str] | None = None
    epochs: int | None = None

    def __post_init__(self):
        if self.budget not in BUDGETS:
            raise ConfigError(f"budget must be one of {BUDGETS}, got {self.budget!r}")


@dataclass
class _Reproduction:
    """A plan resolved against a recipe and its data: the split, the runs, the systems, the deviations."""

    recipe: Recipe
    source: Source
    plan: Plan
    out: Path
    seed: int
    collection: Any
    split: str
    n_splits: int
    runs: int
    systems: list[SystemRecipe]
    deviations: list[Deviation]

    @property
    def n_classes(self) -> int:
        return len(self.collection.genres)

    def deviate(self, kind: str, text: str) -> None:
        """Record a departure from the paper (once)."""
        if text not in self.deviations:
            self.deviations.append(Deviation(text, kind))


def _resolve(recipe: Recipe, source: Source, plan: Plan, out: Path, seed: int) -> _Reproduction:
    """The split, number of runs and systems a plan gives on this data, with the deviations they make."""
    from genrekit.data import load_collection
    from genrekit.datasets import splits

    split = plan.protocol or recipe.split
    if source.dataset == "coarse-mel" and split == "filtered":
        split = "filtered:dev"
    collection = load_collection(source.dataset, source.root, source.options)
    n_splits = len(splits.parse(split, list(collection), seed))
    rep = _Reproduction(recipe, source, plan, out, seed, collection, split, n_splits, runs=0,
                        systems=_systems(recipe, plan.systems), deviations=[])
    if plan.protocol:
        rep.deviate("protocol", f"protocol {split!r} instead of the paper's {recipe.split!r}")
    # the recipe's runs for its own split (or seeds of a single split); a protocol of many splits given
    # instead (holdout:7/3x10, kfold:10) runs all of them
    rep.runs = _run_count(rep, n_splits if plan.protocol and n_splits > 1 else recipe.runs or n_splits)
    if plan.systems:
        rep.deviate("subset", f"only the systems {', '.join(s.name for s in rep.systems)} were run")
    if plan.budget == "quick":
        rep.runs = min(rep.runs, recipe.quick.get("runs", 2))
        rep.deviate("cut", f"quick budget: {rep.runs} run(s) of at most {recipe.quick.get('epochs')} epochs; "
                           "not comparable to the paper")
    if source.dataset == "gtzan-features":
        rep.deviate("data", "data: gtzan-features (per-track features of the real audio of all 1,000 GTZAN tracks, "
                            "the Kaggle table features_30_sec.csv): the classical baselines read its 57 columns "
                            "(means and variances of librosa's frame features, tempo, 20 MFCCs) instead of "
                            "genrekit's summary preset")
    if source.dataset == "coarse-mel":
        rep.deviate("data", "data: gtzan-coarse-mel (639 real GTZAN tracks as coarse 8-bit log-mel, 128 bands, "
                            "77.5 ms per column; no audio): every network reads the coarse_mel representation "
                            f"with clips of {recipe.coarse_mel.get('clip_frames')} columns instead of its own "
                            "features; 639 tracks instead of 1000")
    return rep


def _run_count(rep: _Reproduction, protocol_runs: int) -> int:
    """The protocol's runs, or the first ``plan.runs`` of them (a cut)."""
    if rep.plan.runs is None:
        return protocol_runs
    runs = max(1, min(int(rep.plan.runs), protocol_runs))
    if runs < protocol_runs:
        rep.deviate("cut", f"{runs} of the protocol's {protocol_runs} runs")
    return runs


def _systems(recipe: Recipe, names: Sequence[str] | None) -> list[SystemRecipe]:
    """The recipe's systems, or those named (in the recipe's order)."""
    if not names:
        return list(recipe.systems)
    unknown = sorted(set(names) - {s.name for s in recipe.systems})
    if unknown:
        raise ConfigError(f"recipe {recipe.paper} has no system {unknown}; systems: "
                          f"{', '.join(s.name for s in recipe.systems)}")
    return [s for s in recipe.systems if s.name in names]


# ----------------------------------------------------------------------------------------------
# One system, run by run
# ----------------------------------------------------------------------------------------------

def _train_config(rep: _Reproduction, system: SystemRecipe, run: int):
    """The training configuration of one run: its split (or seed), the data, the epoch cap."""
    from genrekit.training import TrainConfig

    source, recipe = rep.source, rep.recipe
    split_index, run_seed = (run, rep.seed) if rep.n_splits > 1 else (0, rep.seed + run)
    clips = {k: v for k, v in recipe.coarse_mel.items() if k in ("clip_frames", "clip_hop")} \
        if source.dataset == "coarse-mel" else {}
    config = TrainConfig(model=system.model, dataset=source.dataset, root=str(source.root) if source.root else None,
                         dataset_options=dict(source.options or {}), split=rep.split, split_index=split_index,
                         seed=run_seed, cache=source.cache, **clips, **system.options)
    if system.kind == "network":
        _cap_epochs(rep, system, config)
    return config


def _cap_epochs(rep: _Reproduction, system: SystemRecipe, config) -> None:
    """At most the quick budget's epochs or ``plan.epochs``, recorded when fewer than the paper's."""
    paper_epochs = config.resolved().epochs
    quick = rep.recipe.quick.get("epochs", paper_epochs) if rep.plan.budget == "quick" else paper_epochs
    cap = min(quick, rep.plan.epochs or paper_epochs)
    if cap < paper_epochs:
        config.epochs = cap
        if rep.plan.budget != "quick":  # the quick budget's deviation says so already
            rep.deviate("cut", f"{system.name}: at most {cap} of the paper's {paper_epochs} epochs")


@dataclass(frozen=True)
class _Job:
    """One run of a model system: the configuration to train and the run directory it writes."""

    system: SystemRecipe
    run: int
    config: Any
    run_dir: Path


#: What executes a reproduction's runs: called with the jobs and ``progress``, it yields each job's
#: ``(metrics, test predictions)`` (:func:`_train_or_read`) in the jobs' order, as they are ready.
Runner = Callable[[Sequence[_Job], bool], Iterator[tuple[dict, dict[str, Any]]]]


def _train_or_read(config, run_dir: Path, progress: bool) -> tuple[dict, dict[str, Any]]:
    """A run's metrics (trained now, resumed, or read back when finished) and its test-track predictions.

    The run directory's files are read through :class:`~genrekit.runs.RunDir`.
    """
    from genrekit.training import train

    run = RunDir(run_dir)
    metrics = run.read_metrics() if run.finished() else train(config, run_dir, resume=run.resumable(),
                                                               progress=progress)
    return metrics, run.read_predictions("test")


def run_here(jobs: Sequence[_Job], progress: bool) -> Iterator[tuple[dict, dict[str, Any]]]:
    """The local :data:`Runner`: the runs one after another in this process."""
    for job in jobs:
        yield _train_or_read(job.config, job.run_dir, progress)


def run_on_ray(address: str = "auto") -> Runner:
    """A :data:`Runner` that runs every unfinished run as a Ray task on the cluster at ``address``.

    Each task asks for the run's CPUs (``threads``, else one) and a GPU when the run trains a
    network on a device other than ``cpu`` and the cluster has a GPU. A task trains (or resumes)
    its own run directory, so ``out`` must be a path every node sees; a run Ray retries after a
    lost worker or node continues from its last checkpoint. Finished runs are read back here,
    without a task. When a run fails, the others still finish (kept for the next call) before
    its error is raised.
    """
    from genrekit import scale

    ray = scale.require_ray()
    gpus = scale.connect(address)["gpus"]
    remote = ray.remote(_train_or_read)

    def runner(jobs: Sequence[_Job], progress: bool) -> Iterator[tuple[dict, dict[str, Any]]]:
        refs = [None if RunDir(job.run_dir).finished() else
                remote.options(num_cpus=job.config.threads or 1, num_gpus=_wants_gpu(job) if gpus else 0)
                .remote(_everywhere(job.config), job.run_dir.resolve(), False) for job in jobs]
        for job, ref in zip(jobs, refs):
            yield _train_or_read(job.config, job.run_dir, progress) if ref is None else _ray_get(ray, ref, refs, job)

    return runner


def _wants_gpu(job: _Job) -> int:
    return int(job.system.kind == "network" and job.config.device != "cpu")


def _everywhere(config):
    """The configuration with its dataset and cache folders as absolute paths (a task may run elsewhere)."""
    from dataclasses import replace

    return replace(config, **{name: str(Path(getattr(config, name)).resolve())
                              for name in ("root", "cache") if getattr(config, name)})


def _ray_get(ray, ref, refs: list, job: _Job):
    """The task's value; on failure, wait for the other tasks, then raise a genrekit error as itself."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        ray.wait([r for r in refs if r is not None], num_returns=sum(r is not None for r in refs))
        cause = getattr(exc, "cause", None)
        if isinstance(cause, GenrekitError):
            raise cause from None
        if isinstance(exc, ray.exceptions.RayTaskError):
            raise
        raise GenrekitError(f"{job.run_dir}: the Ray task was lost ({type(exc).__name__}); finished runs are "
                            "kept, run the same command again to resume") from None


def _schedule(rep: _Reproduction) -> list[tuple[SystemRecipe, list[_Job]]]:
    """The selected systems in the recipe's order with their runs (none for a fusion), recording skips.

    A fusion runs when both its systems run before it; a system whose features need audio is
    skipped on coarse-mel, a network on gtzan-features.
    """
    scheduled: list[tuple[SystemRecipe, list[_Job]]] = []
    for system in rep.systems:
        if system.fusion:
            if not set(system.fusion) <= {s.name for s, jobs in scheduled if jobs}:
                rep.deviate("skipped", f"{system.name}: not run, because {' or '.join(system.fusion)} was not run")
                continue
            scheduled.append((system, []))
        elif system.requires_audio and rep.source.dataset == "coarse-mel":
            rep.deviate("skipped", f"{system.name}: not run, because its features need audio and coarse-mel has none")
        elif system.kind == "network" and rep.source.dataset == "gtzan-features":
            rep.deviate("skipped", f"{system.name}: not run, because a network reads spectrograms and gtzan-features "
                                   "holds one feature vector per track")
        else:
            folder = rep.out / "runs" / system.name.replace(" ", "_")
            scheduled.append((system, [_Job(system, run, _train_config(rep, system, run), folder / f"run-{run:02d}")
                                       for run in range(rep.runs)]))
    return scheduled


def _run_system(rep: _Reproduction, jobs: Sequence[_Job], outcomes: Iterator, progress: bool
                ) -> tuple[dict, list[dict]]:
    """A model system's summary and each run's test predictions, from its jobs' ``outcomes``."""
    per_run, run_dirs, predictions = [], [], []
    for job in jobs:
        metrics, saved = next(outcomes)
        decided = _decisions(saved, metrics.get("aggregation", job.config.resolved().aggregation), rep.n_classes)
        decided["clip_accuracy"] = metrics["test"].get("clip_accuracy") if job.system.kind == "network" else None
        decided["ids"] = list(saved["ids"])
        valid = metrics.get("valid") or {}
        if valid.get("n_tracks"):  # the split's validation tracks (the filtered valid list, ...)
            decided["valid_confusion"] = np.asarray(valid["confusion"])
        per_run.append(decided)
        predictions.append(saved)
        run_dirs.append(str(job.run_dir.relative_to(rep.out)))
        if progress:
            print(f"{rep.recipe.paper} {job.system.name} run {job.run + 1}/{rep.runs}: test track accuracy "
                  f"{decided['correct'].mean():.3f}", file=sys.stderr, flush=True)
    return _system_summary(jobs[0].system, per_run, run_dirs), predictions


def _decisions(predictions: dict, rule: str, n_classes: int) -> dict:
    decided = aggregation.decide_tracks(predictions["clips"], rule)
    return classification(predictions["labels"], decided, n_classes)


def _fuse(a: dict, b: dict, rule: str, n_classes: int) -> dict:
    if a["ids"] != b["ids"]:
        raise ConfigError("cannot fuse runs that were tested on different tracks")
    fuse = aggregation.fusion1 if rule == "fusion1" else aggregation.fusion2
    decided = np.array([fuse(p, q) for p, q in zip(a["clips"], b["clips"])])
    return {**classification(a["labels"], decided, n_classes), "ids": list(a["ids"])}


def _system_summary(system: SystemRecipe, per_run: list[dict], run_dirs: list[str]) -> dict:
    """Accuracy per run, mean / std, bootstrap CI over the test tracks (each track's decisions in all runs
    resampled together), summed confusion; the accuracy on the validation tracks when the runs had them."""
    correct = np.concatenate([r["correct"] for r in per_run])
    tracks = np.concatenate([np.asarray(r["ids"], dtype=object) for r in per_run])
    summed = np.sum([r["confusion"] for r in per_run], axis=0)
    low, high = bootstrap_ci(correct, groups=tracks)
    accuracy = summarize([float(r["correct"].mean()) for r in per_run])
    accuracy.update(ci95=[low, high], ci_method=f"bootstrap over the {len(set(tracks))} test tracks (their "
                                                  f"{correct.size} decisions in {len(per_run)} run(s) resampled "
                                                  "together per track), 2000 resamples")
    clip = [r["clip_accuracy"] for r in per_run if r.get("clip_accuracy") is not None]
    valid = [r["valid_confusion"] for r in per_run if r.get("valid_confusion") is not None]
    return {"name": system.name, "model": system.model or "+".join(system.fusion), "kind": system.kind,
            "paper_accuracy": system.paper_accuracy, "paper_note": system.paper_note, "accuracy": accuracy,
            "clip_accuracy": summarize(clip) if clip else None,
            "valid_accuracy": _valid_summary(system, valid) if valid and len(valid) == len(per_run) else None,
            "confusion": summed.tolist(), "recall": recall(summed), "run_dirs": run_dirs}


def _valid_summary(system: SystemRecipe, confusions: list[np.ndarray]) -> dict:
    """Track accuracy on the split's validation tracks, per run, and a bootstrap CI over one run's tracks.

    On the artist-filtered split these are the 197 tracks of the filtered valid list in every run (the
    runs are seeds): held out from a classical model (fitted once on the train list), but for a network
    the tracks that chose its epoch. metrics.json keeps only each run's confusion, not its decisions, so
    the interval is that of one run's tracks at the runs' mean accuracy: right when the runs share their
    validation tracks, wider than needed when each run has its own (holdout:8/1/1 x runs).
    """
    summary = summarize([float(np.trace(c) / c.sum()) for c in confusions])
    n = int(confusions[0].sum())
    right = int(round(summary["mean"] * n))
    low, high = bootstrap_ci(np.r_[np.ones(right), np.zeros(n - right)])
    chose = "held out (the model was fitted once on the train tracks)" if system.kind == "classical" else \
        "not held out: they chose the network's epoch"
    summary.update(ci95=[low, high], tracks=n,
                   ci_method=f"bootstrap over the {n} validation tracks at the runs' mean accuracy, 2000 resamples",
                   note=f"the split's validation tracks; {chose}")
    return summary


def _run_all(rep: _Reproduction, progress: bool, runner: Runner = run_here) -> list[dict]:
    """Every selected system in the recipe's order: the runner runs the models' runs, fusions are made here."""
    scheduled = _schedule(rep)
    outcomes = iter(runner([job for _, jobs in scheduled for job in jobs], progress))
    predictions: dict[str, list[dict]] = {}
    summaries = []
    for system, jobs in scheduled:
        if system.fusion:
            a, b = (predictions[name] for name in system.fusion)
            per_run = [_fuse(x, y, system.rule, rep.n_classes) for x, y in zip(a, b)]
            summaries.append(_system_summary(system, per_run, []))
        else:
            summary, predictions[system.name] = _run_system(rep, jobs, outcomes, progress)
            summaries.append(summary)
    return summaries


def _results(rep: _Reproduction, systems: list[dict], command: str) -> Results:
    recipe, source, plan, collection = rep.recipe, rep.source, rep.plan, rep.collection
    return {
        "paper": recipe.paper, "title": recipe.title, "citation": recipe.citation,
        "dataset": {"name": source.dataset, "root": str(collection.root), "tracks": len(collection),
                    "description": f"{collection.name}: {len(collection)} tracks in {rep.n_classes} genres"},
        "protocol": {"name": rep.split, "split": rep.split, "runs": rep.runs, "description": recipe.description
                     if not plan.protocol else f"{rep.split} (replacing the paper's {recipe.split})"},
        "budget": plan.budget, "deviations": rep.deviations,
        "command": command,
        "versions": _versions(), "genres": list(collection.genres), "systems": systems,
    }


def reproduce(paper: str | os.PathLike, source: Source = Source(), out: str | os.PathLike = "reproductions",
              plan: Plan = Plan(), *, seed: int = 0, command: str | None = None, progress: bool = True,
              write_report: bool = True, ray: str | None = None) -> Results:
    """Train and evaluate every system of a paper's recipe under its protocol.

    Parameters
    ----------
    paper : str or path-like
        A recipe name (:func:`papers`): ``yang2019``, ``zhang2016``, ``senac2017``, ``dong2018``, ``wang``;
        or a recipe YAML file.
    source : Source
        The dataset (``synthetic`` by default).
    out : path
        The reproduction directory.
    plan : Plan
        The paper's protocol by default; a quick budget, another split, fewer runs, systems or
        epochs are recorded as deviations.
    seed : int
    command : str, optional
        The command line to record (default: this call).
    progress : bool
    write_report : bool
        Also write the report (:func:`genrekit.evaluation.report.write_report`).
    ray : str, optional
        Run the runs as Ray tasks (:func:`run_on_ray`) on the cluster at this address (``"auto"``: the
        one running here, else a new local one); ``out`` must then be a path every node sees. Results,
        fusions and the report are computed here, as without Ray.

    Returns
    -------
    Results
        The contents of ``results.json``, each deviation a
        :class:`~genrekit.evaluation.results.Deviation` (its text, with a kind).
    """
    runner = run_on_ray(ray) if ray else run_here
    recipe = load_recipe(paper)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rep = _resolve(recipe, source, plan, out, seed)
    command = command or (f"genrekit.evaluation.reproduce({paper!r}, dataset={source.dataset!r}, "
                          f"root={str(source.root)!r}, budget={plan.budget!r}, protocol={plan.protocol!r}, seed={seed})")
    results = _results(rep, _run_all(rep, progress, runner), command)
    write_results(out, results)
    if write_report:
        from genrekit.evaluation.report import write_report as write

        write(out)
    return results
