"""Fit and pack the bundled model v3 (genrekit-musicnn-v3) chosen by scripts/search_bundled_model_v3.py.

    python scripts/package_bundled_model_v3.py [--root ../shared/data/gtzan-coarse-mel] [--out runs/bundled-v3]

Every fit uses the arrays as stored and the floor readings of the arrays that do not reach -80 dB (weighted so
a track counts once), as the search did; the packed network reads the fixed-scale front end
(``musicnn_coarse`` over ``coarse_mel`` with ``stretch=False``, the default).

1. The chosen candidate (OUT/search.json; a logistic-regression head, which folds into the network) is fitted
   on the 442 tracks of the artist-filtered train list and scored on the 197 valid tracks twice: by
   scikit-learn on the track vectors, and through the packed network as users run it
   (``Classifier.predict_spectrogram`` on each coarse-mel array: musicnn per 3 s patch, the linear head,
   geometric mean of the patch probabilities). The card's numbers are the second, read, never typed; the valid
   tracks that do not reach the floor are also scored read at each floor of the search
   (``validation_by_floor``).
2. The shipped model is the same candidate fitted on all 639 tracks (train and valid lists). Its accuracy on
   the valid tracks is not measurable any more (it has seen them); the card says so.
The filtered test list is not in gtzan-coarse-mel and is never used. Writes the model file into the package
and OUT/card.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from genrekit import datasets, features
from genrekit.datasets.gtzan_coarse_mel import reaches_floor, with_floor
from genrekit.metrics import bootstrap_ci
from genrekit.inference import bundled_model_path, load_model, write_model
from genrekit.models import transfer
from genrekit.models.assembly import build_model
from genrekit.training import TrainConfig

from search_bundled_model_v3 import embeddings, fit, head, vectors  # noqa: E402  (scripts/ is on sys.path)

NAME = "genrekit-musicnn-v3"


def network(pipeline, layers: str, n_classes: int):
    net = transfer.TransferNetwork(network="MSD_musicnn", layers=layers, n_classes=n_classes)
    net.set_linear_head(pipeline)
    config = TrainConfig(model="musicnn_msd_linear", dataset="coarse-mel", split="filtered", features="musicnn_coarse",
                         model_args={"layers": layers, "pretrained": False}, normalize="none",
                         aggregation="geomean").resolved()
    model = build_model(config.model, 96, 187, n_classes, normalize=config.normalize, model_args=config.model_args)
    model.net = net
    return model.eval(), config


def pack(path, model, config, genres, card) -> Path:
    resolved = {**dataclasses.asdict(config), "clip_frames": 187, "clip_hop": 187, "genres": list(genres)}
    return write_model(path, json.loads(json.dumps(resolved)), model.state_dict(), features.get("musicnn_coarse"),
                       card, rule="geomean")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default="../shared/data/gtzan-coarse-mel")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--out", default="runs/bundled-v3")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    out = Path(args.out)
    search = json.loads((out / "search.json").read_text())
    chosen = search["chosen"]
    if chosen["head"] != "logreg" or chosen["pool"] != "mean":
        raise SystemExit(f"the chosen candidate {chosen} does not fold into a network (logistic regression on "
                         "mean-pooled patches does); pack it as a scikit-learn run instead")
    emb = embeddings(args.root, chosen["preset"], args.cache, tuple(search["floors"]))
    ids, labels, parts, genres = emb.ids, emb.labels, emb.parts, emb.genres
    train, valid = parts == "train", parts == "valid"
    x, x_readings = vectors(emb.values, chosen["layers"], "mean"), vectors(emb.readings, chosen["layers"], "mean")
    build = lambda: head("logreg", chosen["C"])  # noqa: E731

    # 1. Fitted on the train list, scored on the valid list through the packed network.
    pipeline = fit(build, *emb.rows(x, x_readings, train))
    sklearn_right = pipeline.predict(x[valid]) == labels[valid]
    model, config = network(pipeline, chosen["layers"], len(genres))
    probe = out / "train-list-only.pt"
    pack(probe, model, config, genres, {"name": f"{NAME} (fitted on the train list only)"})
    classifier = load_model(probe)
    collection = datasets.load("coarse-mel", args.root)
    valid_ids = [ids[i] for i in np.flatnonzero(valid)]
    predicted = np.array([np.argmax(classifier.predict_spectrogram(collection.features[i])) for i in valid_ids])
    right = (predicted == labels[valid]).astype(float)
    low, high = bootstrap_ci(right)
    recall = {genres[g]: float(right[labels[valid] == g].mean()) for g in range(len(genres))}
    confusion = np.zeros((len(genres), len(genres)), dtype=int)
    np.add.at(confusion, (labels[valid], predicted), 1)

    by_floor = {}
    for floor in search["floors"]:
        changed = [i for i in valid_ids if not reaches_floor(collection.features[i])]
        guess = {i: np.argmax(classifier.predict_spectrogram(with_floor(collection.features[i], floor))) for i in changed}
        by_floor[f"{floor:g}"] = float(np.mean([guess.get(i, p) == labels[ids.index(i)]
                                                for i, p in zip(valid_ids, predicted)]))

    # 2. The shipped model: all 639 tracks.
    shipped, config = network(fit(build, *emb.rows(x, x_readings, train | valid)), chosen["layers"], len(genres))
    card = {
        "name": NAME,
        "model": "musicnn_msd_linear",
        "network": "MSD_musicnn (Pons & Serra 2019, pretrained on the Million Song Dataset; ISC licence) + a linear "
                   f"head on the mean of its {chosen['layers']} features over 3 s patches",
        "input": "musicnn_coarse: the coarse-mel representation re-projected onto musicnn's 96 mel bands at 16 ms",
        "data": "gtzan-coarse-mel: 639 real GTZAN tracks as coarse 8-bit log-mel (128 bands, 77.5 ms columns)",
        "choice": f"5-fold cross-validation on the {int(train.sum())} artist-filtered train-list tracks (contiguous "
                  f"track-number blocks per genre); {len(search['candidates'])} candidates; chosen: {chosen}",
        "validation": "fitted on the 442 train-list tracks, scored on the 197 artist-filtered valid tracks (no "
                      "artist shared) through this network; the valid tracks did not choose the candidate",
        "validation_track_accuracy": float(right.mean()),
        "validation_ci95": [float(low), float(high)],
        "validation_tracks": int(right.size),
        "validation_recall": recall,
        "validation_sklearn_track_accuracy": float(sklearn_right.mean()),
        "validation_by_floor": by_floor,
        "front_end": "coarse_mel on a fixed scale (80 dB floor to the window's maximum), one column stride; DC "
                     "offset and silence around the music removed; recordings under 120 s read at up to 4 column "
                     "phases (genrekit.features.windows)",
        "floor_readings": f"the {int(len(np.unique(emb.reading_track)))} arrays without a -80 dB cell also read with "
                          f"floors {search['floors']} dB, weighted to count once",
        "shipped_fit": "all 639 tracks (train and valid lists); its valid accuracy cannot be measured",
        "aggregation": "geometric mean of the 3 s patch probabilities (= the head on the mean embedding)",
        "card": "docs/models.md",
    }
    path = pack(bundled_model_path(NAME), shipped, config, genres, card)
    probe.unlink()
    (out / "card.json").write_text(json.dumps({**card, "confusion": confusion.tolist(), "genres": genres}, indent=1))
    print(json.dumps({"path": str(path), "bytes": path.stat().st_size, "model_id": load_model(path).model_id,
                      **{k: card[k] for k in ("validation_track_accuracy", "validation_ci95",
                                              "validation_sklearn_track_accuracy")}}, indent=1))


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
