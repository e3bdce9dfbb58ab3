"""The ``genrekit`` command line.

Every command is a thin call into the library: what it does, a Python user can do with
the function it names. Errors a user can cause (a bad path, an unknown preset) are
printed as one line on stderr with exit status 2, never as a traceback; so is a full disk
(``ENOSPC``, ``EDQUOT``, SQLite's "database or disk is full"), wherever the write was. A
reader that closes the output early (``genrekit predict ... | head -1``) ends the command
quietly, as it ends any Unix tool.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

import genrekit
from genrekit.apps.options import finite
from genrekit.errors import DiskFullError, GenrekitError, is_disk_full

app = typer.Typer(
    name="genrekit",
    help="Music genre classification with convolutional networks: GTZAN papers reproduced, any library tagged.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class DatasetName(str, Enum):
    gtzan = "gtzan"
    folder = "folder"
    synthetic = "synthetic"
    coarse_mel = "coarse-mel"
    gtzan_features = "gtzan-features"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"genrekit {genrekit.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """genrekit: music genre classification with convolutional networks."""


def _collection(dataset: DatasetName, root: Optional[Path], n_per_genre: int, seconds: float, seed: int):
    from genrekit import datasets

    if dataset is DatasetName.synthetic:
        return datasets.load("synthetic", root, n_per_genre=n_per_genre, seconds=seconds, seed=seed)
    return datasets.load(dataset.value, root)


_DATASET = typer.Option(..., "--dataset", "-d", help="gtzan (either layout), folder (one sub-folder per genre), "
                                                     "synthetic (generated), coarse-mel (precomputed arrays) or "
                                                     "gtzan-features (a per-track feature table: Kaggle's CSV).")
_ROOT = typer.Option(None, "--root", "-r", help="Dataset folder. For synthetic: where to write it "
                                                "(default: a folder in the user cache).")
_N = typer.Option(10, "--n-per-genre", help="synthetic only: tracks per genre.")
_SECONDS = typer.Option(30.0, "--seconds", callback=finite(above=0), help="synthetic only: track length in seconds.")
_SEED = typer.Option(0, "--seed", help="Random seed (synthetic audio, splits).")


@app.command()
def dataset(
    dataset: DatasetName = _DATASET,
    root: Optional[Path] = _ROOT,
    split: Optional[str] = typer.Option(None, "--split", help="Also show a split: holdout:8/1/1, holdout:7/3, "
                                                               "holdout:8/1/1x10, kfold:10, filtered."),
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    seed: int = _SEED,
) -> None:
    """Index a dataset and summarise it: tracks per genre, unreadable and missing files, splits."""
    from genrekit.datasets import splits

    collection = _collection(dataset, root, n_per_genre, seconds, seed)
    typer.echo(collection.summary())
    if split:
        for part in splits.parse(split, collection, seed):
            typer.echo(part.summary())


@app.command()
def specs() -> None:
    """List the feature presets and what each computes."""
    from genrekit import features

    for name in features.names():
        spec = features.get(name)
        details = {k: (f"{len(v)} names: {v[0]} ... {v[-1]}" if isinstance(v, tuple) and len(v) > 6 else v)
                   for k, v in spec.content().items() if k not in ("kind", "version")}  # kaggle's 57 columns
        typer.echo(f"{name:16s} {spec.kind:8s} bands={spec.bands:<4d} clip={spec.clip.frames}x{spec.clip.hop} "
                   f"key={spec.key()}  {details}")


@app.command()
def features(
    dataset: DatasetName = _DATASET,
    root: Optional[Path] = _ROOT,
    spec: str = typer.Option("yang2019", "--spec", "-s", help="Feature preset (see `genrekit specs`)."),
    cache: Optional[Path] = typer.Option(None, "--cache", "-c", help="Cache folder "
                                         "(default: $GENREKIT_CACHE/features or ~/.cache/genrekit/features)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Worker processes (default: one per CPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout."),
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    seed: int = _SEED,
) -> None:
    """Extract and cache features for a dataset; resumes where an interrupted run stopped.

    Exits 1 if every track failed, 0 otherwise (failures are listed with reasons).
    """
    from genrekit import features as feats

    collection = _collection(dataset, root, n_per_genre, seconds, seed)
    typer.echo(collection.summary(), err=True)
    report = feats.extract(collection, spec, cache=cache, workers=workers)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        typer.echo(report.summary())
    if report.total and len(report.failed) == report.total:
        raise typer.Exit(1)


def _feature_option(text: str | None) -> str | dict | None:
    """``--features``: a preset name, or ``PRESET:FIELD=VALUE,...`` (values read as YAML scalars), checked."""
    if text is None or ":" not in text:
        return text
    import yaml

    from genrekit import features as feats
    from genrekit.errors import ConfigError

    preset, _, changes = text.partition(":")
    spec: dict = {"preset": preset}
    for change in filter(None, changes.split(",")):
        field, equals, value = change.partition("=")
        if not equals or not field.strip():
            raise typer.BadParameter(f"--features {text!r}: expected PRESET:FIELD=VALUE,..., got {change!r}")
        spec[field.strip()] = yaml.safe_load(value)
    try:
        feats.from_dict(spec)
    except (ConfigError, TypeError) as exc:
        raise typer.BadParameter(f"--features {text!r}: {exc}") from None
    return spec


@app.command()
def train(
    model: str = typer.Option(..., "--model", "-m", help="A network (genrekit models) or a classical baseline "
                                                        "(knn, decision_tree, random_forest, svm, logistic_regression)."),
    dataset: DatasetName = typer.Option(DatasetName.synthetic, "--dataset", "-d", help="gtzan, folder, synthetic, "
                                        "coarse-mel or gtzan-features (Kaggle's table: classical models only)."),
    root: Optional[Path] = _ROOT,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory (default: runs/MODEL-DATASET-SEED)."),
    split: str = typer.Option("holdout:8/1/1", "--split", help="holdout:8/1/1, holdout:7/3, kfold:10, filtered, "
                                                              "filtered:dev (coarse-mel)."),
    split_index: int = typer.Option(0, "--split-index", help="Which fold / repetition of a multi-split spec."),
    features: Optional[str] = typer.Option(None, "--features", help="Feature preset (default: the paper's); "
                                           "PRESET:FIELD=VALUE,... changes fields, e.g. coarse_mel:max_hz=10500."),
    clip_frames: Optional[int] = typer.Option(None, "--clip-frames", help="Clip length in frames (default: preset's)."),
    clip_hop: Optional[int] = typer.Option(None, "--clip-hop", help="Clip hop in frames (default: preset's)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs (default: the paper's)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Batch size (default: the paper's)."),
    lr: Optional[float] = typer.Option(None, "--lr", callback=finite(above=0),
                                       help="Learning rate (default: the paper's optimiser's)."),
    patience: Optional[int] = typer.Option(None, "--patience", help="Early-stopping patience; 0 disables it."),
    sampling: Optional[str] = typer.Option(None, "--sampling", help="fixed (every clip of the grid each epoch) or "
                                                                   "random_crop (one random clip per track per epoch)."),
    aggregation: Optional[str] = typer.Option(None, "--aggregation", help="Clips to track: sum, mean or vote "
                                                                         "(default: the paper's)."),
    normalize: str = typer.Option("band", "--normalize", help="band (standardise per band) or none."),
    seed: int = _SEED,
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 where the hardware has it), fp32 or bf16."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in --out."),
    cache: Optional[Path] = typer.Option(None, "--cache", "-c", help="Feature cache folder."),
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    ray: Optional[str] = typer.Option(None, "--ray", metavar="auto|HOST:PORT",
                                      help="Train data-parallel on Ray: auto (the running cluster, else Ray on this "
                                           "machine) or the head's HOST:PORT. Needs pip install 'genrekit[ray]'; "
                                           "dataset, --cache and --out on storage every node sees."),
    workers: int = typer.Option(1, "--workers", min=1, help="With --ray: training workers (one CPU each, or one "
                                                            "GPU each when the cluster has GPUs)."),
) -> None:
    """Train a model under its paper's settings and write a run directory (metrics.json, curves, checkpoints).

    With --ray, one network is trained data-parallel on --workers Ray workers (PyTorch DDP); the run
    directory is the same as a single-process run's.
    """
    from genrekit import models
    from genrekit.training import TrainConfig, train as run_training

    if ray is None and workers != 1:
        raise typer.BadParameter("--workers needs --ray (data-parallel training runs on Ray)")

    options = {"n_per_genre": n_per_genre, "seconds": seconds, "seed": seed} if dataset is DatasetName.synthetic else {}
    optimizer = None
    if lr is not None:
        if models.info(model).kind == "classical":
            raise typer.BadParameter("--lr does not apply to a classical baseline")
        optimizer = {**models.info(model).optimizer, "lr": lr}
    config = TrainConfig(model=model, dataset=dataset.value, root=str(root) if root else None,
                         dataset_options=options, split=split, split_index=split_index,
                         features=_feature_option(features),
                         clip_frames=clip_frames, clip_hop=clip_hop, optimizer=optimizer, batch_size=batch_size,
                         epochs=epochs, patience=patience, sampling=sampling, aggregation=aggregation,
                         normalize=normalize, seed=seed, device=device, precision=precision,
                         cache=str(cache) if cache else None)
    out = out or Path("runs") / f"{model}-{dataset.value}-seed{seed}"
    if ray is None:
        metrics = run_training(config, out, resume=resume)
    else:
        from genrekit.training_ray import train_ray

        metrics = train_ray(config, out, resume=resume, workers=workers, address=ray)
    for part in ("valid", "test"):
        if part in metrics:
            m = metrics[part]
            typer.echo(f"{part}: track accuracy {m['track_accuracy']:.3f} ({m['n_tracks']} tracks), "
                       f"clip accuracy {m['clip_accuracy']:.3f}")
    typer.echo(f"run directory: {out}")


@app.command()
def reproduce(
    paper: str = typer.Argument(..., help="yang2019, zhang2016, senac2017, dong2018, wang (or a recipe .yaml)."),
    dataset: DatasetName = typer.Option(DatasetName.synthetic, "--dataset", "-d", help="gtzan, folder, synthetic, "
                                        "coarse-mel or gtzan-features (Kaggle's table: classical models only)."),
    root: Optional[Path] = _ROOT,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Reproduction directory "
                                       "(default: reproductions/PAPER-DATASET[-BUDGET])."),
    budget: str = typer.Option("full", "--budget", help="full (the paper's runs and epochs) or quick "
                                                       "(a cut-down check, labelled as such)."),
    protocol: Optional[str] = typer.Option(None, "--protocol", help="Replace the paper's split, e.g. filtered."),
    runs: Optional[int] = typer.Option(None, "--runs", help="Run only the first N runs of the protocol."),
    systems: Optional[str] = typer.Option(None, "--systems", help="Comma-separated systems of the recipe to run."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Train networks for at most N epochs "
                                                                "(recorded as a deviation)."),
    seed: int = _SEED,
    cache: Optional[Path] = typer.Option(None, "--cache", "-c", help="Feature cache folder."),
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    ray: Optional[str] = typer.Option(None, "--ray", metavar="auto|ADDRESS", help="Run every (system, run) as a "
                                      "Ray task: auto (the cluster running here, else a local one) or a "
                                      "cluster's address; --out must be a path every node sees."),
) -> None:
    """Reproduce a paper's table under its protocol; writes results.json, report.md and report.html. Resumes."""
    from genrekit.evaluation import reproduce as run_reproduction
    from genrekit.evaluation.protocols import Plan, Source

    options = {"n_per_genre": n_per_genre, "seconds": seconds, "seed": seed} if dataset is DatasetName.synthetic else {}
    name = Path(paper).stem
    out = out or Path("reproductions") / (f"{name}-{dataset.value}" + ("-quick" if budget == "quick" else ""))
    source = Source(dataset.value, root, options, str(cache) if cache else None)
    plan = Plan(budget, protocol, runs, [x.strip() for x in systems.split(",")] if systems else None, epochs)
    results = run_reproduction(paper, source, out, plan, seed=seed, command="genrekit " + " ".join(sys.argv[1:]),
                               ray=ray)
    for system in results["systems"]:
        accuracy = system["accuracy"]
        paper_value = system["paper_accuracy"]
        typer.echo(f"{system['name']:22s} {accuracy['mean']:.1%} +- {accuracy['std']:.1%} "
                   f"(95 % CI {accuracy['ci95'][0]:.1%}-{accuracy['ci95'][1]:.1%})"
                   + (f"   paper {paper_value:.1%}" if paper_value is not None else ""))
    for line in results["deviations"]:
        typer.echo(f"note: {line}")
    typer.echo(f"report: {out / 'report.html'}")


@app.command()
def demo(
    out: Path = typer.Option(Path(".demo"), "--out", help="Where the demo writes its data and cache."),
    n_per_genre: int = typer.Option(10, "--n-per-genre", help="Synthetic tracks per genre."),
    seconds: float = typer.Option(30.0, "--seconds", callback=finite(above=0), help="Length of each synthetic track."),
    samples: Optional[Path] = typer.Option(None, "--samples", help="Real excerpts to classify at the end "
                                           "(default: $GENREKIT_SHARED_DATA/gtzan-samples, else "
                                           "../shared/data/gtzan-samples)."),
) -> None:
    """Run the main job on the embedded default: synthetic audio -> features -> summary."""
    from genrekit.apps.demo import SAMPLES, run

    run(out, n_per_genre=n_per_genre, seconds=seconds, samples=samples or SAMPLES)


plot_app = typer.Typer(help="Draw figures of a track's features.", no_args_is_help=True)
app.add_typer(plot_app, name="plot")

from genrekit.apps.explain_cmd import explain_app  # noqa: E402  (genrekit explain strf|lda|feature-maps|spectrogram)

app.add_typer(explain_app, name="explain")

from genrekit.apps import predict_cmd  # noqa: E402  (genrekit predict, genrekit export)

app.command("predict")(predict_cmd.predict)
app.command("export")(predict_cmd.export)

from genrekit.apps.serve_cmd import serve  # noqa: E402  (genrekit serve: the web service and its page)

app.command("serve")(serve)

from genrekit.apps.tag_cmd import tag  # noqa: E402  (genrekit tag LIBRARY_DIR --db FILE, genrekit tag --report)

app.command("tag")(tag)


@plot_app.command("music-features")
def plot_music_features(
    file: Path = typer.Argument(..., help="An audio file (WAV, FLAC, OGG, MP3, AU, AIFF)."),
    out: Path = typer.Option(..., "--out", "-o", help="The PNG to write."),
    width: int = typer.Option(1400, "--width", min=200, help="Width of the PNG in pixels."),
    height: int = typer.Option(800, "--height", min=200, help="Height of the PNG in pixels."),
) -> None:
    """Draw Senac et al.'s eight music features of a track over its log-mel spectrogram."""
    from genrekit import audio
    from genrekit.explain import figures

    y = audio.load(file, sr=audio.DEFAULT_SR)
    path = figures.plot_music_features(y, audio.DEFAULT_SR, out, title=file.name, width=width, height=height)
    typer.echo(f"wrote {path}")


@app.command()
def report(
    run_dirs: list[Path] = typer.Argument(..., help="Reproduction directories (each holds the results.json "
                                                    "of `genrekit reproduce`); several are combined into one report."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write report.md, report.html, figures/ "
                                       "and figures.json (default: the reproduction directory; needed for several)."),
) -> None:
    """Write the report of reproductions: ours beside the papers, recall, confusion matrices, curves."""
    from genrekit.evaluation import report as reporting

    if len(run_dirs) > 1 and out is None:
        raise typer.BadParameter("several reproductions are combined into one report: give --out DIR",
                                 param_hint="--out")
    paths = reporting.write_report(run_dirs[0], out) if len(run_dirs) == 1 else reporting.combine(run_dirs, out)
    typer.echo(f"wrote {paths['report.md']} and {paths['report.html']} ({len(paths) - 3} figures)")


#: The signals that stopped this command (filled by :func:`_stop`).
_stopped_by: list[int] = []


def _stop(signum: int, frame) -> None:
    """Ctrl-C and SIGTERM alike: unwind as from Ctrl-C (the worker pool ends its workers, temporary
    files are removed, the catalogue's open transaction rolls back), then exit with a one-line
    message. A second signal ends the process at once (its workers still follow it: see
    :func:`genrekit.pool.worker_pool`)."""
    _stopped_by.append(signum)
    signal.signal(signum, signal.SIG_DFL)
    raise KeyboardInterrupt


def main() -> None:
    """Entry point of the ``genrekit`` script."""
    _stopped_by.clear()
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        app()  # typer itself ends the command quietly (exit 1) when stdout is a closed pipe
    except GenrekitError as exc:
        _fail(exc)
    except (OSError, sqlite3.Error) as exc:
        if not is_disk_full(exc):
            raise
        _fail(DiskFullError(getattr(exc, "filename", None) or _unnamed_output()))
    except (KeyboardInterrupt, SystemExit) as exc:
        # typer turns KeyboardInterrupt into exit status 130 without a word; say what happened.
        if isinstance(exc, SystemExit) and not _stopped_by:
            raise
        signum = _stopped_by[0] if _stopped_by else signal.SIGINT
        what = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        typer.echo(f"{what}; finished work is kept, run the same command again to resume", err=True)
        sys.exit(128 + signum)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _fail(exc: GenrekitError) -> None:
    """Print ``exc`` as one line on stderr and exit 2."""
    typer.echo(f"error: {exc}", err=True)
    try:
        sys.stdout.flush()
    except OSError:  # output that cannot be written: drop it, or the flush at exit prints a second message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (ValueError, AttributeError):  # stdout closed or replaced
        pass
    sys.exit(2)


def _unnamed_output() -> str:
    """What a "no space left" error without a file name was writing: the standard output when it
    is a device or a file on a full disk (``> /dev/full``, ``> out.json``), else some file."""
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
        if (stat.S_ISCHR(mode) and not os.isatty(fd)) or (stat.S_ISREG(mode) and os.fstatvfs(fd).f_bavail == 0):
            return "the standard output"
    except (OSError, ValueError, AttributeError):
        pass
    return "a file"


if __name__ == "__main__":
    main()
