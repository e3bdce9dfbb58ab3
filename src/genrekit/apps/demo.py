"""``make demo``: the main job end to end on the embedded default (generated audio).

Generates the synthetic dataset (real WAV files), indexes it, splits it 6/2/2 at track
level, extracts Yang & Zhang's log-mel features in parallel into the cache, runs the
extraction again to show that it resumes from the cache, trains a network on the
training tracks (early stopping on the validation tracks) and prints its accuracy and
confusion matrix on the test tracks. Finally it classifies real music with the bundled
model (``docs/models.md``): the GTZAN excerpts of ``$GENREKIT_SHARED_DATA/gtzan-samples``
(default ``../shared/data``, relative to the working directory: ``make demo`` runs in the
repository, beside ``shared/``; ``genrekit demo --samples DIR`` names another folder) when
present, else the demo's own generated test tracks.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from genrekit import datasets, features, models, training
from genrekit.datasets import splits
from genrekit.runs import RunDir

__all__ = ["run", "confusion_table", "classify_samples"]

#: The demo's network and its settings: Yang & Zhang's net2 on their log-mel, few epochs.
DEMO_MODEL = "yang2019_net2"
DEMO_EPOCHS = 8
#: Train / validation / test shares: 6/2/2 gives 20 test tracks with 10 tracks per genre.
DEMO_SPLIT = (6, 2, 2)
#: Real GTZAN excerpts (not part of genrekit; used when present): under $GENREKIT_SHARED_DATA, else under
#: ../shared/data relative to the working directory (where ``make demo`` runs: the repository).
SAMPLES = Path(os.environ.get("GENREKIT_SHARED_DATA", Path("..", "shared", "data")), "gtzan-samples")


def confusion_table(confusion, genres) -> str:
    """A confusion matrix as aligned text: rows are true genres, columns predicted."""
    short = [g[:5] for g in genres]
    width = max(len(g) for g in genres)
    lines = [" " * (width + 2) + " ".join(f"{g:>5s}" for g in short)]
    for genre, row in zip(genres, confusion):
        lines.append(f"{genre:>{width}s}  " + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines)


def classify_samples(files: list[str], echo=print) -> list:
    """Classify files with the bundled model and print the ``genrekit predict`` table; returns the predictions.

    For files named like GTZAN's (``blues.00000.wav``) it also says how many agree with their
    name's genre, and which of them are in the bundled model's training or validation lists.
    """
    from genrekit.apps.predict_cmd import render
    from genrekit.inference import load_model

    classifier = load_model()
    echo(f"classifying {len(files)} files with the bundled model {classifier.model_id} (docs/models.md)")
    predictions = classifier.predict(files)
    echo(render(predictions, "table").rstrip())
    named = [(p, Path(p.path).name.split(".")[0]) for p in predictions if p.ok]
    named = [(p, genre) for p, genre in named if genre in classifier.genres]
    if named:
        parts = dict((name, part) for part, names in splits.filtered_lists().items() for name in names)
        seen = sorted({".".join(Path(p.path).name.split(".")[:2]) for p, _ in named} & set(parts))
        agree = sum(p.genre == genre for p, genre in named)
        echo(f"{agree} of {len(named)} agree with the genre in their file name "
             f"(GTZAN's label; about three in four are expected on new artists, see docs/models.md)")
        if seen:
            # The shipped bundled model is fitted on the train and valid lists both (docs/models.md): only
            # test-list tracks are music it never heard.
            fitted = [name for name in seen if parts[name] in ("train", "valid")]
            unseen = [name for name in seen if parts[name] not in ("train", "valid")]
            if fitted:
                echo("in the model's fit (so no evidence of accuracy): " + ", ".join(
                    f"{name} ({parts[name]} list)" for name in fitted))
            if unseen:
                echo("never seen by the model (the artist-filtered test list): " + ", ".join(unseen))
    return predictions


def show_tags(path: str, echo=print, k: int = 5) -> dict[str, float]:
    """musicnn's MSD tags of one file, as ``genrekit predict --tags`` gives them; returns all 50."""
    from genrekit.tags import Tagger, top_tags

    tags = Tagger().tag_file(path)
    echo(f"musicnn's tags of {Path(path).name} (genrekit predict --tags): "
         + ", ".join(f"{name} {p:.2f}" for name, p in top_tags(tags, k)))
    return tags


def run(out: str | Path = ".demo", n_per_genre: int = 10, seconds: float = 30.0, spec: str = "yang2019",
        epochs: int = DEMO_EPOCHS, echo=print, samples: str | Path | None = SAMPLES) -> dict:
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
    run_dir = RunDir(out / "run")
    shutil.rmtree(run_dir.path, ignore_errors=True)  # the demo always shows a whole training run
    metrics = training.train(config, run_dir.path)
    test = metrics["test"]
    echo(f"test accuracy on {test['n_tracks']} held-out synthetic tracks: {test['track_accuracy']:.1%} "
         f"(track level, {metrics['aggregation']} of clip probabilities), clip accuracy {test['clip_accuracy']:.1%}")
    echo("confusion matrix (rows: true genre, columns: predicted):")
    echo(confusion_table(test["confusion"], metrics["genres"]))
    echo(f"run directory: {run_dir.path} ({run_dir.CONFIG}, {run_dir.CURVES}, {run_dir.METRICS}, "
         f"{run_dir.CHECKPOINTS}/)")

    if samples is not None and Path(samples).is_dir():
        files = sorted(str(p) for p in Path(samples).iterdir() if p.suffix.lower() in (".wav", ".au"))
        echo(f"7. real music: the GTZAN excerpts in {samples}")
    else:
        files = [t.path for t in split.test]
        echo(f"7. no real excerpts found ({samples}); the demo's {len(files)} generated test tracks instead")
    predictions = classify_samples(files, echo)
    tagged = next((p.path for p in predictions if p.ok), None)
    tags = show_tags(tagged, echo) if tagged else {}
    echo(f"demo finished in {time.perf_counter() - start:.1f} s")
    return {"tracks": len(collection), "computed": len(report.computed), "cached_again": len(again.cached),
            "failed": len(report.failed), "clips": clips, "test_accuracy": test["track_accuracy"],
            "classified": sum(p.ok for p in predictions), "tags": len(tags)}
