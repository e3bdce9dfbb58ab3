"""Choose the bundled model v2: musicnn embeddings + a scikit-learn head, by cross-validation on the
artist-filtered TRAIN list of gtzan-coarse-mel only; the 197 valid tracks are scored after, for the table.

    python scripts/search_bundled_model_v2.py [--root ../shared/data/gtzan-coarse-mel] [--out runs/bundled-v2]

Folds: 5 contiguous blocks of track numbers within each genre of the train list. GTZAN files an
artist's tracks under consecutive numbers, so blocks keep most artists inside one fold (the lists give
no artists); random folds would share artists between training and scoring folds, as random GTZAN
splits do, and reward memorising artists. Writes OUT/search.json (every candidate: CV accuracy,
valid accuracy) and prints a Markdown table, best CV first. Ties in CV go to the simpler candidate
(fewer layers, mean pooling, smaller C), in the order the grid lists them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import warnings
from pathlib import Path

import numpy as np

from genrekit import data, datasets, runs
from genrekit.models import transfer

LAYERS = ["mean_pool", "max_pool", "mean_pool+max_pool", "penultimate", "taggram", "penultimate+mean_pool"]
POOLS = ["mean", "mean+std"]
HEADS = [("logreg", 0.01), ("logreg", 0.1), ("logreg", 1.0), ("svm", 1.0), ("svm", 10.0)]


def embeddings(root: str, preset: str, cache: str | None):
    collection = datasets.load("coarse-mel", root)
    arrays, _ = data.track_features(collection, runs.feature_spec(preset), cache=cache)
    ids = [t.id for t in collection.tracks]
    labels = np.array([collection.genres.index(t.genre) for t in collection.tracks])
    parts = np.array([collection.parts[i] for i in ids])
    return ids, labels, parts, [arrays[i] for i in ids], list(collection.genres)


def block_folds(ids, labels, train: np.ndarray, k: int = 5) -> np.ndarray:
    """Fold index per track (-1 off the train list): contiguous track-number blocks per genre."""
    fold = np.full(len(ids), -1)
    for genre in np.unique(labels):
        members = np.flatnonzero(train & (labels == genre))
        members = members[np.argsort([ids[i] for i in members])]
        for j, chunk in enumerate(np.array_split(members, k)):
            fold[chunk] = j
    return fold


def vectors(values: list[np.ndarray], layers: str, pool: str) -> np.ndarray:
    rows = transfer.layer_rows(layers)
    out = [np.stack([v[rows].mean(axis=1) for v in values])]
    if pool == "mean+std":
        out.append(np.stack([v[rows].std(axis=1) for v in values]))
    return np.concatenate(out, axis=1)


def head(kind: str, C: float):
    return transfer.build_head("musicnn_msd_logreg" if kind == "logreg" else "musicnn_msd_svm", 0, C)


def cross_validate(x, labels, fold, kind, C) -> float:
    right = []
    for j in range(fold.max() + 1):
        fit, score = (fold >= 0) & (fold != j), fold == j
        right.append(head(kind, C).fit(x[fit], labels[fit]).predict(x[score]) == labels[score])
    return float(np.concatenate(right).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="../shared/data/gtzan-coarse-mel")
    parser.add_argument("--preset", default="musicnn_msd_coarse")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default="runs/bundled-v2")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    ids, labels, parts, values, _ = embeddings(args.root, args.preset, args.cache)
    train, valid = parts == "train", parts == "valid"
    fold = block_folds(ids, labels, train)
    results = []
    for layers, pool, (kind, C) in itertools.product(LAYERS, POOLS, HEADS):
        x = vectors(values, layers, pool)
        valid_accuracy = float((head(kind, C).fit(x[train], labels[train]).predict(x[valid]) == labels[valid]).mean())
        results.append({"preset": args.preset, "layers": layers, "pool": pool, "head": kind, "C": C,
                        "cv_accuracy": cross_validate(x, labels, fold, kind, C), "valid_accuracy": valid_accuracy})
        print(json.dumps(results[-1]), flush=True)
    ranked = sorted(range(len(results)), key=lambda i: (-results[i]["cv_accuracy"], i))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.json").write_text(json.dumps({"chosen": results[ranked[0]], "candidates": results,
                                                 "train_tracks": int(train.sum()), "valid_tracks": int(valid.sum()),
                                                 "folds": "5 contiguous track-number blocks per genre"}, indent=1))
    print("\n| layers | pooling over patches | head | C | CV accuracy (train list) | valid accuracy (197) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for i in ranked:
        r = results[i]
        print(f"| {r['layers']} | {r['pool']} | {r['head']} | {r['C']} | {100 * r['cv_accuracy']:.1f} % | "
              f"{100 * r['valid_accuracy']:.1f} % |")


if __name__ == "__main__":
    main()
