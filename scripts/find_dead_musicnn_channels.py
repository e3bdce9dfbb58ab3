"""Find musicnn's dead front-end channels on real music and write the kept lists as package data.

    python scripts/find_dead_musicnn_channels.py [--shared ../shared/data] [--tolerance 1e-5]
                                                 [--work DIR] [MODEL ...]

A front-end channel outputs ``a * relu(drive) + b`` per frame (``genrekit.models.musicnn_prune``); over
the data its output spans ``|a| * max(0, peak drive)``. A channel is dead when that span is at most
``--tolerance``: either it never fires (peak <= 0: exactly constant) or its batch norm scale is ~0 (musicnn's
training drove many ``gamma`` to ~1e-9, so the channel fires but its output does not move). The data:

- the 639 tracks of ``gtzan-coarse-mel`` (dev), through the ``musicnn_coarse`` adapter;
- the ten real excerpts ``gtzan-samples/*.wav``, through both front ends (``musicnn`` from audio and
  ``musicnn_coarse`` from audio);
- musicnn's own inputs of the same excerpts (``musicnn-reference``, key ``inputs``).

Writes ``src/genrekit/pretrained/musicnn/<MODEL>.keep.json`` and prints JSON stats: channels kept per
branch, how close the pruned channels came to firing, and the pruned network against the full one on every
patch of the data (max abs difference per output, per patch and per track's mean, same top tag), and on
generated audio (``datasets.synthetic``) and white noise, which chose nothing. ``--work DIR`` keeps the
full network's outputs there (``<MODEL>.npz``), so another tolerance is tried without recomputing them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from genrekit import audio, datasets, features
from genrekit.features import musicnn_input
from genrekit.models import musicnn, musicnn_prune
from genrekit.threads import torch_threads

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("taggram", "penultimate", "mean_pool", "max_pool")
BATCH = 20


def real_sources(shared: Path) -> dict[str, np.ndarray]:
    """Source name -> ``[n_tracks, 10, 187, 96]`` patches (every source here has 30 s tracks)."""
    dev = datasets.load("coarse-mel", shared / "gtzan-coarse-mel")
    coarse = features.get("musicnn_coarse")
    sources = {"gtzan_coarse_mel_dev": np.stack([
        musicnn_input.patches(coarse.from_source(dev.features[track.id]).T)[:10] for track in dev.tracks])}
    wavs = sorted((shared / "gtzan-samples").glob("*.wav"))
    for preset in ("musicnn", "musicnn_coarse"):
        sources[f"gtzan_samples_{preset}"] = np.stack([
            musicnn_input.patches(features.compute_features(path, preset).T)[:10] for path in wavs])
    with np.load(shared / "musicnn-reference" / "musicnn_tf_reference.npz") as reference:
        sources["musicnn_reference_inputs"] = reference["inputs"]
    return sources


def other_sources() -> dict[str, np.ndarray]:
    """Inputs that choose nothing: generated "genres" (one 30 s file each) and white noise, from audio."""
    with tempfile.TemporaryDirectory() as folder:
        tracks = datasets.load("synthetic", folder, n_per_genre=1, seconds=30.0, seed=1).tracks
        generated = np.stack([musicnn_input.patches(features.compute_features(t.path, "musicnn").T)[:10]
                              for t in tracks])
    noise = np.random.default_rng(0).normal(0, 0.1, 30 * musicnn_input.SR).astype(np.float32)
    noise = musicnn_input.patches(musicnn_input.mel_from_audio(noise))[None, :10]
    return {"synthetic_genres": generated, "white_noise": noise}


def batches(patches: np.ndarray):
    flat = patches.reshape(-1, *patches.shape[2:])
    for start in range(0, len(flat), BATCH):
        yield torch.from_numpy(np.ascontiguousarray(flat[start:start + BATCH]))


@torch.inference_mode()
def measure_full(net, patches: np.ndarray) -> dict[str, np.ndarray]:
    """The full network's outputs ``[n_tracks, 10, size]`` and each channel's peak drive ``[561]``."""
    outputs, peak = {key: [] for key in OUTPUTS}, None
    for x in batches(patches):
        front, drive = musicnn_prune.frontend_drive(net, x)
        for key, value in net.backend(net.midend(front)).items():
            outputs[key].append(value.numpy())
        batch_peak = drive.amax(dim=(0, 2))
        peak = batch_peak if peak is None else torch.maximum(peak, batch_peak)
    shape = patches.shape[:2]
    return {"peak": peak.numpy(), **{k: np.concatenate(v).reshape(*shape, -1) for k, v in outputs.items()}}


@torch.inference_mode()
def run(net, patches: np.ndarray) -> dict[str, np.ndarray]:
    outputs = {key: [] for key in OUTPUTS}
    for x in batches(patches):
        for key, value in net(x).items():
            outputs[key].append(value.numpy())
    return {k: np.concatenate(v).reshape(*patches.shape[:2], -1) for k, v in outputs.items()}


def compare(full: dict, pruned: dict) -> dict:
    """Max abs differences per output (per patch, and of each track's mean over its patches), and how
    often the top tag of a patch and of a track's mean taggram agree."""
    result = {}
    for key in OUTPUTS:
        scale = float(np.abs(full[key]).max())
        result[key] = {"max_abs_diff_patch": float(np.abs(pruned[key] - full[key]).max()),
                       "max_abs_diff_track_mean": float(np.abs(pruned[key].mean(1) - full[key].mean(1)).max()),
                       "max_abs_value": round(scale, 3)}
    result["top_tag_same_patches"] = float(np.mean(pruned["taggram"].argmax(-1) == full["taggram"].argmax(-1)))
    result["top_tag_same_tracks"] = float(np.mean(pruned["taggram"].mean(1).argmax(-1)
                                                  == full["taggram"].mean(1).argmax(-1)))
    return result


def commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=list(musicnn.MODELS))
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest output span (|a| * peak drive) of a channel that is pruned")
    parser.add_argument("--work", type=Path, help="keep the full network's outputs here between runs")
    parser.add_argument("--dry-run", action="store_true", help="print the stats, write no keep file")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    args = parser.parse_args(argv)
    with torch_threads(args.threads):
        return measure(args)


def write_keep(path: Path, keep: dict) -> None:
    """One key per line: readable, and small enough for package data."""
    lines = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in keep.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def full_outputs(net, inputs: dict[str, np.ndarray], cache: Path | None) -> dict[str, dict]:
    """:func:`measure_full` per source, read from / written to ``cache`` (an ``.npz``) when given."""
    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            return {key: {k.split("/")[1]: saved[k] for k in saved.files if k.startswith(f"{key}/")}
                    for key in {k.split("/")[0] for k in saved.files}}
    full = {key: measure_full(net, patches) for key, patches in inputs.items()}
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **{f"{s}/{k}": v for s, values in full.items() for k, v in values.items()})
    return full


def measure(args) -> dict:
    sources = real_sources(args.shared)
    others = other_sources()
    report = {"tolerance": args.tolerance, "patches": {k: int(np.prod(v.shape[:2])) for k, v in
                                                       {**sources, **others}.items()}, "models": {}}
    for name in args.models:
        net = musicnn.load(name)
        full = full_outputs(net, {**sources, **others}, args.work / f"{name}.npz" if args.work else None)
        peak = np.max([full[key]["peak"] for key in sources], axis=0)
        scale = np.abs(musicnn_prune.frontend_affine(net)[0].numpy())
        span = scale * np.maximum(peak, 0.0)
        kept = np.flatnonzero(span > args.tolerance)
        pruned_net = musicnn_prune.prune(net, kept)
        starts = np.cumsum([0] + [getattr(net.frontend, b).conv.out_channels for b in net.frontend.branch_names])
        dead = span <= args.tolerance
        stats = {
            "front_end_channels": int(len(peak)), "kept": int(len(kept)),
            "kept_per_branch": {b: int(np.sum((kept >= lo) & (kept < hi)))
                                for b, lo, hi in zip(net.frontend.branch_names, starts[:-1], starts[1:])},
            "never_fired": int(np.sum(peak <= 0)),
            "fired_but_flat": int(np.sum((peak > 0) & dead)),
            "never_fired_closest_peak_drive": float(peak[peak <= 0].max(initial=-np.inf)),
            "pruned_largest_span": float(span[dead].max()),
            "kept_smallest_span": float(span[kept].min()),
            # pruned channels whose output spans more than the tolerance on inputs that chose nothing
            "pruned_but_moving_on_other_inputs": {
                key: int(np.sum(dead & (scale * np.maximum(full[key]["peak"], 0.0) > args.tolerance)))
                for key in others},
            "pruned_vs_full": {key: compare(full[key], run(pruned_net, patches))
                               for key, patches in {**sources, **others}.items()},
        }
        report["models"][name] = stats
        if not args.dry_run:
            keep = {"model": name, "front_end_channels": int(len(peak)), "n_kept": int(len(kept)),
                    "kept": kept.tolist(), "kept_per_branch": stats["kept_per_branch"],
                    "tolerance": args.tolerance,
                    "rule": "kept: channels whose output span on the data, |a| * max(0, peak drive), exceeds "
                            "the tolerance (genrekit.models.musicnn_prune; a = batch norm scale)",
                    "data_patches": {k: report["patches"][k] for k in sources},
                    "made_by": f"scripts/find_dead_musicnn_channels.py at genrekit commit {commit()}",
                    "span": [float(f"{v:.3g}") for v in span]}
            write_keep(musicnn_prune.keep_path(name), keep)
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
