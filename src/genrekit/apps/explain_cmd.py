"""``genrekit explain ...``: figures of what trained models learned and see.

Each command reads a run directory written by ``genrekit train --out DIR``, takes its data
from the run's own dataset and split (or ``--dataset/--root/--split`` as ``genrekit train``,
or audio files), calls :mod:`genrekit.explain` and writes PNG figures with the arrays behind
them (``.npz``) into ``--out DIR``, printing what it wrote.

    genrekit explain strf --run runs/dong --out figs            # Dong 2018: Lasso STRF filters
    genrekit explain lda --run runs/dong --out figs             # Dong 2018 Fig. 5, measured
    genrekit explain feature-maps --run runs/net1 --run runs/net2 --out figs   # Yang Fig. 6
    genrekit explain spectrogram song.wav --out figs            # Yang Fig. 5
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from genrekit.apps.options import finite

explain_app = typer.Typer(help="Figures of what trained models learned: STRF filters, LDA views, feature maps, "
                               "spectrograms (PNG + .npz).", no_args_is_help=True)

_RUN = typer.Option(..., "--run", help="A run directory written by `genrekit train --out DIR`.")
_OUT = typer.Option(..., "--out", "-o", help="Folder for the PNG figures and .npz arrays.")
_DATASET = typer.Option(None, "--dataset", "-d", help="Another dataset than the run's: gtzan, folder, synthetic, "
                                                      "coarse-mel or gtzan-features.")
_ROOT = typer.Option(None, "--root", "-r", help="Dataset folder (default: the run's).")
_SPLIT = typer.Option(None, "--split", help="Another split than the run's (holdout:8/1/1, filtered:dev, ...).")
_SPLIT_INDEX = typer.Option(None, "--split-index", help="Which fold / repetition of a multi-split spec.")
_N = typer.Option(10, "--n-per-genre", help="synthetic only: tracks per genre.")
_SECONDS = typer.Option(30.0, "--seconds", callback=finite(above=0), help="synthetic only: track length in seconds.")
_SEED = typer.Option(0, "--seed", help="Random seed (synthetic audio, choice of segments and held-out tracks).")
_CACHE = typer.Option(None, "--cache", "-c", help="Feature cache folder.")


def _load(run: Path):
    from genrekit.runs import load_run

    return load_run(run)


def _tracks(config: dict, part: str, files, dataset, root, split, split_index, n_per_genre, seconds, seed, cache):
    """The tracks to explain: audio files if given, else a part of the (run's) split; and the genre names."""
    from genrekit.explain import inputs

    if files:
        return inputs.file_data(files, config), list(config["genres"])
    prepared = inputs.run_data(config, dataset=dataset, root=root, options=_options(dataset, n_per_genre, seconds, seed),
                               split=split, split_index=split_index, cache=cache)
    return getattr(prepared, part), prepared.genres


def _options(dataset, n_per_genre, seconds, seed) -> dict | None:
    """The synthetic dataset's options (as `genrekit train`); nothing for the others."""
    return {"n_per_genre": n_per_genre, "seconds": seconds, "seed": seed} if dataset == "synthetic" else None


def _save(out: Path, name: str, arrays: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.npz"
    np.savez_compressed(path, **arrays)
    return path


def _part(value: str) -> str:
    if value not in ("train", "valid", "test"):
        raise typer.BadParameter("choose train, valid or test", param_hint="--part")
    return value


@explain_app.command("strf")
def strf(
    run: Path = _RUN,
    out: Path = _OUT,
    files: Optional[list[Path]] = typer.Argument(None, help="Audio files to cut into segments "
                                                           "(default: the tracks of --part of the run's split)."),
    layers: Optional[str] = typer.Option(None, "--layers", help="Comma-separated convolutional layers "
                                         "(default: all; see the error message of a wrong name for the list)."),
    units: int = typer.Option(6, "--units", min=1, help="Channels per layer: the ones whose activation varies most."),
    max_segments: int = typer.Option(400, "--max-segments", min=10, help="Segments drawn at random for the fits."),
    overlap: float = typer.Option(0.1, "--overlap", callback=finite(at_least=0, below=1),
                                  help="Overlap of the segments, a fraction (Dong: 0.1, 10 %)."),
    part: str = typer.Option("train", "--part", help="train, valid or test tracks of the split."),
    dataset: Optional[str] = _DATASET,
    root: Optional[Path] = _ROOT,
    split: Optional[str] = _SPLIT,
    split_index: Optional[int] = _SPLIT_INDEX,
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    seed: int = _SEED,
    cache: Optional[Path] = _CACHE,
) -> None:
    """Learned filters as STRFs (Dong 2018): Lasso from each unit's receptive field to its activation."""
    from genrekit.explain import inputs, plot_filters, receptive
    from genrekit.explain import strf as strfs

    model, config = _load(run)
    names = [x.strip() for x in layers.split(",")] if layers else list(receptive.network_fields(model))
    tracks, _ = _tracks(config, _part(part), files, dataset, root, split, split_index, n_per_genre, seconds, seed,
                        cache)
    frames = config["clip_frames"]
    clips, groups, _ = inputs.track_clips(tracks, frames, frames, limit=max_segments, seed=seed,
                                          cut=lambda v, name=None: strfs.segments(v, frames, overlap, name))
    results = [strfs.learned_filters(model, clips, name, n_units=units, groups=groups if len(set(groups)) > 2
                                     else None, seed=seed) for name in names]
    stem = f"{run.name}-strf"
    figure = plot_filters(results, out / f"{stem}.png", title=f"{run.name}: Lasso estimates of learned filters "
                          f"({len(clips)} segments of {frames} frames, {len(set(groups.tolist()))} tracks)")
    arrays = {k: v for result in results for k, v in result.arrays().items()}
    npz = _save(out, stem, arrays)
    for result in results:
        r2 = result.r2[np.isfinite(result.r2)]
        summary = f"median R^2 {np.median(r2):.2f} (range {r2.min():.2f} to {r2.max():.2f})" if r2.size \
            else "no unit varied"
        typer.echo(f"{result.layer}: field {result.field.describe()}; {len(result.channels)} units, held-out {summary}")
    typer.echo(f"wrote {figure} and {npz}")


@explain_app.command("lda")
def lda(
    run: Path = _RUN,
    out: Path = _OUT,
    max_segments: int = typer.Option(4000, "--max-segments", min=10, help="At most this many clips per part "
                                     "(train, test), drawn at random."),
    dataset: Optional[str] = _DATASET,
    root: Optional[Path] = _ROOT,
    split: Optional[str] = _SPLIT,
    split_index: Optional[int] = _SPLIT_INDEX,
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    seed: int = _SEED,
    cache: Optional[Path] = _CACHE,
) -> None:
    """Separability view (Dong 2018, Fig. 5): LDA of the last hidden layer vs the raw input, with a number."""
    from genrekit.explain import inputs, lda_view, plot_lda, record

    model, config = _load(run)
    prepared = inputs.run_data(config, dataset=dataset, root=root, options=_options(dataset, n_per_genre, seconds, seed),
                               split=split, split_index=split_index, cache=cache)
    frames, hop = config["clip_frames"], config["clip_hop"]
    train, _, train_labels = inputs.track_clips(prepared.train, frames, hop, limit=max_segments, seed=seed)
    test, _, test_labels = inputs.track_clips(prepared.test, frames, hop, limit=max_segments, seed=seed)
    views = [lda_view(train, train_labels, test, test_labels, name=f"raw input ({config['features']})", seed=seed),
             lda_view(record(model, train, ["hidden"])["hidden"], train_labels,
                      record(model, test, ["hidden"])["hidden"], test_labels, name="last hidden layer", seed=seed)]
    stem = f"{run.name}-lda"
    figure = plot_lda(views, prepared.genres, out / f"{stem}.png",
                      title=f"{run.name}: {len(test)} test clips of {len(prepared.test)} tracks on the first LDA "
                            f"directions (fitted on {len(train)} training clips)")
    npz = _save(out, stem, {**views[0].arrays("raw"), **views[1].arrays("hidden"),
                            "genres": np.array(prepared.genres)})
    chance = 1 / len(prepared.genres)
    for view in views:
        typer.echo(f"{view.name}: separability {view.separability:.3f} (logistic regression in the "
                   f"{view.test.shape[1]}-D LDA space; LDA classifier {view.lda_accuracy:.3f}; chance {chance:.3f}; "
                   f"{len(test)} test clips)")
    typer.echo(f"wrote {figure} and {npz}")


@explain_app.command("feature-maps")
def feature_maps(
    run: list[Path] = typer.Option(..., "--run", help="Run directory; repeat for columns side by side "
                                   "(Yang Fig. 6: --run NET1 --run NET2)."),
    out: Path = _OUT,
    file: Optional[Path] = typer.Argument(None, help="An audio file (default: a test track of the first run's split)."),
    track: Optional[str] = typer.Option(None, "--track", help="A track id of the run's dataset (default: the first "
                                        "test track)."),
    clip: Optional[int] = typer.Option(None, "--clip", min=0, help="Which clip of the track (default: the middle one)."),
    dataset: Optional[str] = _DATASET,
    root: Optional[Path] = _ROOT,
    split: Optional[str] = _SPLIT,
    split_index: Optional[int] = _SPLIT_INDEX,
    n_per_genre: int = _N,
    seconds: float = _SECONDS,
    seed: int = _SEED,
    cache: Optional[Path] = _CACHE,
) -> None:
    """Outputs of every convolutional layer for one clip, one column per run (Yang & Zhang 2019, Fig. 6)."""
    from genrekit.errors import ConfigError
    from genrekit.explain import feature_maps as maps_of, inputs, plot_feature_maps
    from genrekit.runs import run_spec

    columns, arrays, label = {}, {}, None
    for run_dir in run:
        model, config = _load(run_dir)
        tracks, _ = _tracks(config, "test", [file] if file else None, dataset, root, split, split_index,
                            n_per_genre, seconds, seed, cache)
        if track is not None and not file:
            if track not in tracks.ids:
                # The track may be in another part of the split: look everywhere before giving up.
                prepared = inputs.run_data(config, dataset=dataset, root=root, split=split, split_index=split_index,
                                           options=_options(dataset, n_per_genre, seconds, seed), cache=cache)
                tracks = next((p for p in (prepared.train, prepared.valid, prepared.test) if track in p.ids), None)
                if tracks is None:
                    raise ConfigError(f"no track {track!r} in the dataset of {run_dir}")
            index = tracks.ids.index(track)
        else:
            index = 0
        clips = run_spec(config).replace(clip={"short": "reject"}).clips(tracks.features[index],
                                                                        name=tracks.ids[index])
        chosen = len(clips) // 2 if clip is None else clip
        if chosen >= len(clips):
            raise ConfigError(f"{tracks.ids[index]} has {len(clips)} clips; --clip {clip} is out of range")
        label = f"{tracks.ids[index]}, clip {chosen} of {len(clips)}"
        maps = maps_of(model, clips[chosen])
        columns[run_dir.name] = maps
        arrays.update({f"{run_dir.name}.{name}": values for name, values in maps.items()})
    stem = "feature-maps-" + "-".join(p.name for p in run)
    figure = plot_feature_maps(columns, out / f"{stem}.png", title=f"outputs of the convolutional layers: {label}")
    npz = _save(out, stem, arrays)
    typer.echo(f"wrote {figure} and {npz}")


@explain_app.command("spectrogram")
def spectrogram(
    files: list[Path] = typer.Argument(..., help="Audio files (WAV, FLAC, OGG, MP3, AU, AIFF)."),
    out: Path = _OUT,
    start: float = typer.Option(0.0, "--start", callback=finite(at_least=0), help="Start of the segment in seconds."),
    seconds: float = typer.Option(3.0, "--seconds", callback=finite(above=0),
                                  help="Length of the segment (Yang Fig. 5: 3 s)."),
    spec: Optional[str] = typer.Option(None, "--spec", "-s", help="Also draw this feature preset's input for the "
                                       "whole file (see `genrekit specs`)."),
) -> None:
    """Hz-scale and mel-scale spectrograms of a segment side by side (Yang & Zhang 2019, Fig. 5)."""
    from genrekit import audio
    from genrekit.explain import spectrogram as spectrograms
    from genrekit.features import compute_features, get

    preset = get(spec) if spec else None  # an unknown name fails before any work
    for path in files:
        y = audio.load(path, sr=audio.DEFAULT_SR)
        piece = spectrograms.segment(y, audio.DEFAULT_SR, start, seconds, name=str(path))
        stem = f"{path.stem}-hz-mel"
        figure = spectrograms.plot_hz_mel(piece, audio.DEFAULT_SR, out / f"{stem}.png",
                                          title=f"{path.name}, {start:g}-{start + seconds:g} s")
        hz, mel, centres = spectrograms.hz_and_mel(piece, audio.DEFAULT_SR)
        typer.echo(f"wrote {figure} and {_save(out, stem, {'hz': hz, 'mel': mel, 'mel_hz': centres})}")
        if preset is not None:
            values = compute_features(path, preset)
            stem = f"{path.stem}-{preset.name}"
            figure = spectrograms.plot_spec_input(values, preset, out / f"{stem}.png", title=path.name)
            typer.echo(f"wrote {figure} and {_save(out, stem, {'features': values})}")
