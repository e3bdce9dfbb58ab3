"""``make demo``: the main job end to end on the embedded default (generated audio).

Generates the synthetic dataset (real WAV files), indexes it, splits it 8/1/1 at track
level, extracts Yang & Zhang's log-mel features in parallel into the cache, runs the
extraction again to show that it resumes from the cache, and prints what the model
training (a later stage) will receive.
"""

from __future__ import annotations

import time
from pathlib import Path

from genrekit import datasets, features
from genrekit.datasets import splits

__all__ = ["run"]


def run(out: str | Path = ".demo", n_per_genre: int = 8, seconds: float = 30.0, spec: str = "yang2019",
        echo=print) -> dict:
    """Run the demo; returns a dict of what it measured."""
    out = Path(out)
    start = time.perf_counter()
    echo(f"1. generating {n_per_genre} synthetic tracks per genre ({seconds:.0f} s each) in {out / 'synthetic'}")
    collection = datasets.synthetic(n_per_genre=n_per_genre, seconds=seconds, seed=0, root=out / "synthetic")
    echo(collection.summary())

    split = splits.holdout(collection, (8, 1, 1), seed=0)
    echo(f"2. track-level split: {split.summary()}")

    preset = features.get(spec)
    echo(f"3. extracting {spec} features ({preset.bands} bands, clips of {preset.clip.frames} frames "
         f"= {preset.clip_seconds:.2f} s) into {out / 'cache'}")
    report = features.extract(collection, preset, cache=out / "cache")
    echo(report.summary())
    again = features.extract(collection, preset, cache=out / "cache", progress=False)
    echo(f"4. again, from the cache: {len(again.cached)} cached, {len(again.computed)} computed "
         f"in {again.seconds:.2f} s")

    arrays, _ = features.load_features(collection, preset, cache=out / "cache", progress=False)
    clips = {part: sum(preset.clips(arrays[t.id], t.id).shape[0] for t in tracks if t.id in arrays)
             for part, tracks in split.parts.items()}
    echo(f"5. clips per part ({preset.bands} x {preset.clip.frames} each): "
         + ", ".join(f"{k} {v}" for k, v in clips.items()))
    echo(f"demo finished in {time.perf_counter() - start:.1f} s")
    return {"tracks": len(collection), "computed": len(report.computed), "cached_again": len(again.cached),
            "failed": len(report.failed), "clips": clips}
