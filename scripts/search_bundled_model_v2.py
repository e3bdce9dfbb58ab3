"""Choose the bundled model v2: musicnn embeddings + a scikit-learn head, by cross-validation on the
artist-filtered TRAIN list of gtzan-coarse-mel only; the 197 valid tracks are scored after, for the table.

    python scripts/search_bundled_model_v2.py [--root ../shared/data/gtzan-coarse-mel] [--out runs/bundled-v2]

Folds: 5 contiguous blocks of track numbers within each genre of the train list. GTZAN files an
artist's tracks under consecutive numbers, so blocks keep most artists inside one fold (the lists give
no artists); random folds would share artists between training and scoring folds, as random GTZAN
splits do, and reward memorising artists. Ties in CV go to the simpler candidate (fewer layers, mean
pooling, smaller C), in the order the grid lists them.

Late fusion is scored by the same folds: the chosen musicnn candidate's track probabilities combined with
those of a second scorer on the same tracks, one of Wang's summary-statistics baselines
(``genrekit.models.classical``: SVM, logistic regression) on the log-mel summary of the coarse-mel arrays
(what ``genrekit train --model svm --dataset coarse-mel`` reads). Rules (Senac et al. 2017, sec. 4.3):
``genrekit.aggregation``'s ``mean`` (FUSION1) and ``geomean`` (the product rule) over both members' rows
of a track, weighted by how many rows each member contributes. Both members' probabilities are
out-of-fold (fitted in each fold on its training part only) and, for valid, fitted on the 442 train
tracks. The summary models alone are rows too.

Writes OUT/search.json: ``chosen`` (the best musicnn candidate by CV, what
``scripts/package_bundled_model_v2.py`` packs: a two-scorer model cannot be packed), ``candidates`` (the
musicnn grid), ``late_fusion`` (the summary and fusion rows, the best fusion by CV); prints one Markdown
table of every row, best CV first.
"""

from __future__ import annotations

import argparse
import itertools
import json
import warnings
from pathlib import Path

import numpy as np

from genrekit import aggregation, data, datasets, runs
from genrekit.models import classical, transfer
from genrekit.models.assembly import sample_vectors

LAYERS = ["mean_pool", "max_pool", "mean_pool+max_pool", "penultimate", "taggram", "penultimate+mean_pool"]
POOLS = ["mean", "mean+std"]
HEADS = [("logreg", 0.01), ("logreg", 0.1), ("logreg", 1.0), ("svm", 1.0), ("svm", 10.0)]
SUMMARY_MODELS = ["svm", "logistic_regression"]  # Wang's baselines, library defaults (C = 1)
FUSION_RULES = ["mean", "geomean"]
#: Rows of musicnn : rows of the summary model per track, i.e. musicnn's weight w = 0.25, 0.5, 0.75.
WEIGHTS = [(1, 3), (1, 1), (3, 1)]


def embeddings(root: str, preset: str, cache: str | None):
    collection = datasets.load("coarse-mel", root)
    arrays, _ = data.track_features(collection, runs.feature_spec(preset), cache=cache)
    ids = [t.id for t in collection.tracks]
    labels = np.array([collection.genres.index(t.genre) for t in collection.tracks])
    parts = np.array([collection.parts[i] for i in ids])
    return ids, labels, parts, [arrays[i] for i in ids], list(collection.genres)


def summary_vectors(root: str, ids: list[str]) -> np.ndarray:
    """``[n_tracks, 88]``: the log-mel summary of each coarse-mel array, as the classical baselines read it."""
    collection = datasets.load("coarse-mel", root)
    return np.concatenate([sample_vectors(collection.features[i], "svm") for i in ids])


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


def predict(build, x, labels, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
    """``[score.sum(), n_classes]`` probabilities of the ``score`` tracks from ``build()`` fitted on ``fit``."""
    model = build().fit(x[fit], labels[fit])
    out = np.zeros((int(score.sum()), labels.max() + 1))
    out[:, model.classes_] = model.predict_proba(x[score])
    return out


def probabilities(build, x, labels, fold, valid) -> np.ndarray:
    """``[n_tracks, n_classes]``: out-of-fold for train-list tracks (fitted without their fold), fitted
    on the whole train list for ``valid`` tracks."""
    out = np.zeros((len(labels), labels.max() + 1))
    for j in range(fold.max() + 1):
        out[fold == j] = predict(build, x, labels, (fold >= 0) & (fold != j), fold == j)
    out[valid] = predict(build, x, labels, fold >= 0, valid)
    return out


def fuse(a: np.ndarray, b: np.ndarray, rule: str, weights: tuple[int, int]) -> np.ndarray:
    """Late fusion of two members' track probabilities ``[n_tracks, n_classes]``: aggregation's ``rule``
    over each track's rows, ``a``'s row counted ``weights[0]`` times and ``b``'s ``weights[1]`` times
    (``mean`` at 1:1 is Senac's FUSION1 and, with one row per member, FUSION2; ``geomean``: the product)."""
    return np.stack([aggregation.track_scores(np.stack([p] * weights[0] + [q] * weights[1]), rule)
                     for p, q in zip(a, b)])


def accuracies(p: np.ndarray, labels, fold, valid) -> dict:
    right = p.argmax(axis=1) == labels
    return {"cv_accuracy": float(right[fold >= 0].mean()), "valid_accuracy": float(right[valid].mean())}


def table_row(r: dict) -> str:
    """A Markdown row of a musicnn candidate (as packed: no ``kind`` key), summary or fusion row."""
    if "kind" not in r:
        first = f"{r['layers']} | {r['pool']} | {r['head']} | {r['C']}"
    elif r["kind"] == "summary":
        first = f"**summary** (log-mel summary of the coarse mel) | - | {r['model']} | 1.0"
    else:
        first = (f"**fusion**: chosen musicnn + summary {r['summary']} | rule {r['rule']}, musicnn weight "
                 f"{r['w']:.2f} | - | -")
    return f"| {first} | {100 * r['cv_accuracy']:.1f} % | {100 * r['valid_accuracy']:.1f} % |"


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
    results, scores = [], []
    for layers, pool, (kind, C) in itertools.product(LAYERS, POOLS, HEADS):
        scores.append(probabilities(lambda: head(kind, C), vectors(values, layers, pool), labels, fold, valid))
        results.append({"preset": args.preset, "layers": layers, "pool": pool, "head": kind, "C": C,
                        **accuracies(scores[-1], labels, fold, valid)})
        print(json.dumps(results[-1]), flush=True)
    ranked = sorted(range(len(results)), key=lambda i: (-results[i]["cv_accuracy"], i))
    chosen = scores[ranked[0]]
    x = summary_vectors(args.root, ids)
    fusion = []
    for name in SUMMARY_MODELS:
        summary = probabilities(lambda: classical.build(name), x, labels, fold, valid)
        fusion.append({"kind": "summary", "model": name, **accuracies(summary, labels, fold, valid)})
        print(json.dumps(fusion[-1]), flush=True)
        for rule, weights in itertools.product(FUSION_RULES, WEIGHTS):
            fused = fuse(chosen, summary, rule, weights)
            fusion.append({"kind": "fusion", "summary": name, "rule": rule, "w": weights[0] / sum(weights),
                           **accuracies(fused, labels, fold, valid)})
            print(json.dumps(fusion[-1]), flush=True)
    fused_rows = [r for r in fusion if r["kind"] == "fusion"]
    best_fusion = max(fused_rows, key=lambda r: r["cv_accuracy"])  # the first listed among ties
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.json").write_text(json.dumps({
        "chosen": results[ranked[0]], "candidates": results, "train_tracks": int(train.sum()),
        "valid_tracks": int(valid.sum()), "folds": "5 contiguous track-number blocks per genre",
        "late_fusion": {"musicnn_member": results[ranked[0]], "rows": fusion, "best_by_cv": best_fusion,
                        "beats_chosen_cv": best_fusion["cv_accuracy"] > results[ranked[0]]["cv_accuracy"]}},
        indent=1))
    rows = results + fusion
    print("\n| layers | pooling over patches | head | C | CV accuracy (442 train-list tracks) | valid accuracy (197) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for i in sorted(range(len(rows)), key=lambda i: (-rows[i]["cv_accuracy"], i)):
        print(table_row(rows[i]))


if __name__ == "__main__":
    main()
