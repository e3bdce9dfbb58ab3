"""``make demo``: the main job end to end on the embedded default (generated audio).

Generates the synthetic dataset (real WAV files), indexes it, splits it 6/2/2 at track
level, extracts Yang & Zhang's log-mel features in parallel into the cache, runs the
extraction again to show that it resumes from the cache, trains a network on the
training tracks (early stopping on the validation tracks) and prints its accuracy and
confusion matrix on the test tracks.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from genrekit import datasets, features, models, training
from genrekit.datasets import splits

__all__ = ["run", "confusion_table"]

#: The demo's network and its settings: Yang & Zhang's net2 on their log-mel, few epochs.
DEMO_MODEL = "yang2019_net2"
DEMO_EPOCHS = 8
#: Train / validation / test shares: 6/2/2 gives 20 test tracks with 10 tracks per genre.
DEMO_SPLIT = (6, 2, 2)


def confusion_table(confusion, genres) -> str:
    """A confusion matrix as aligned text: rows are true genres, columns predicted."""
    short = [g[:5] for g in genres]
    width = max(len(g) for g in genres)
    lines = [" " * (width + 2) + " ".join(f"{g:>5s}" for g in short)]
    for genre, row in zip(genres, confusion):
        lines.append(f"{genre:>{width}s}  " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)


def run(out: str | Path = ".demo", n_per_genre: int = 10, seconds: float = 30.0, spec: str = "yang2019",
        epochs: int = DEMO_EPOCHS, echo=print) -> dict:
    """Run the demo; returns a dict of what it measured."""
    out = Path(out)
    start = time.perf_counter()
    echo(f"1. generating {n_per_genre} synthetic tracks per genre ({seconds:.0f} s each) in {out / 'synthetic'}")
    collection = datasets.synthetic(n_per_genre=n_per_genre, seconds=seconds, seed=0, root=out / "synthetic")
    echo(collection.summary())

    split = splits.holdout(collection, DEMO_SPLIT, seed=0)
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

    echo(f"6. training {DEMO_MODEL} ({models.info(DEMO_MODEL).paper}) for up to {epochs} epochs")
    config = training.TrainConfig(model=DEMO_MODEL, dataset="synthetic", root=str(out / "synthetic"),
                                  dataset_options={"n_per_genre": n_per_genre, "seconds": seconds, "seed": 0},
                                  split="holdout:" + "/".join(map(str, DEMO_SPLIT)), features=spec,
                                  epochs=epochs, patience=3,
                                  cache=str(out / "cache"))
    shutil.rmtree(out / "run", ignore_errors=True)  # the demo always shows a whole training run
    metrics = training.train(config, out / "run")
    test = metrics["test"]
    echo(f"test accuracy on {test['n_tracks']} held-out synthetic tracks: {test['track_accuracy']:.1%} "
         f"(track level, {metrics['aggregation']} of clip probabilities), clip accuracy {test['clip_accuracy']:.1%}")
    echo("confusion matrix (rows: true genre, columns: predicted):")
    echo(confusion_table(test["confusion"], metrics["genres"]))
    echo(f"run directory: {out / 'run'} (config.yaml, curves.csv, metrics.json, checkpoints/)")
    echo(f"demo finished in {time.perf_counter() - start:.1f} s")
    return {"tracks": len(collection), "computed": len(report.computed), "cached_again": len(again.cached),
            "failed": len(report.failed), "clips": clips, "test_accuracy": test["track_accuracy"]}
