"""Pack the small bundled model's run directory (genrekit-coarse-mel-v2) into src/genrekit/pretrained/ with its card.

Usage: python scripts/package_bundled_model.py RUN_DIR
The card's numbers are read from the run (predictions on the 197 filtered-valid tracks), never typed in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from genrekit.metrics import bootstrap_ci
from genrekit.inference import bundled_model_path, load_model, save_model

NAME = "genrekit-coarse-mel-v2"


def main(run_dir: str) -> None:
    run = Path(run_dir)
    metrics = json.loads((run / "metrics.json").read_text())
    with np.load(run / "predictions.npz") as saved:
        offsets, probabilities = saved["test_offsets"], saved["test_probabilities"]
        labels = saved["test_labels"]
    per_track = [probabilities[a:b].mean(axis=0) for a, b in zip(offsets[:-1], offsets[1:])]
    correct = (np.argmax(per_track, axis=1) == labels).astype(float)
    low, high = bootstrap_ci(correct)
    card = {
        "name": NAME,
        "model": metrics["model"],
        "data": "gtzan-coarse-mel: 639 real GTZAN tracks as coarse 8-bit log-mel (128 bands, 77.5 ms columns)",
        "training": "399 tracks of the artist-filtered train list (Kereliuk, Sturm & Larsen 2015); early "
                    "stopping on the other 43 train-list tracks; one random 3 s crop per track per epoch",
        "validation": "197 tracks of the artist-filtered valid list (no artist shared with training), also "
                      "used to choose among 4 candidates, so slightly optimistic",
        "validation_track_accuracy": float(correct.mean()),
        "validation_ci95": [float(low), float(high)],
        "validation_tracks": int(correct.size),
        "aggregation": "mean of clip probabilities (39-column clips, hop 19)",
        "front_end": "coarse_mel on a fixed scale (80 dB floor to the window's maximum), one column stride, the "
                     "two bands above 10.5 kHz unread; DC offset and silence around the music removed; recordings "
                     "under 120 s read at up to 4 column phases (genrekit.features.windows)",
        "best_epoch": metrics.get("best_epoch"),
        "card": "docs/models.md",
    }
    path = save_model(run, bundled_model_path(NAME), card=card)
    classifier = load_model(path)
    print(json.dumps({"path": str(path), "bytes": path.stat().st_size, "model_id": classifier.model_id,
                      **{k: card[k] for k in ("validation_track_accuracy", "validation_ci95")}}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
