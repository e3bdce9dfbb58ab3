"""How well genrekit's features agree with the Kaggle GTZAN table on the ten real excerpts.

For each of ``../shared/data/gtzan-samples/*.wav`` (real GTZAN tracks ``<genre>.00000``) computes

- the ``kaggle`` preset (the table's 57 columns from audio; librosa before 0.10's frame padding),
- the same with ``pad_mode="constant"`` (what librosa 0.10 and later do by default),
- genrekit's own ``summary`` preset (the classical baselines' vector), mapped onto the table's columns
  where it has them (its 12 chroma bins pooled: mean of the means, and mean of the variances plus the
  variance of the means, the variance of all 12 x frames values),

and compares each column with the table's row of the same track (``features_30_sec.csv``): the largest
relative difference over the ten tracks, ``|ours - table| / |table|``, and the largest absolute one.

    python scripts/kaggle_agreement.py [--samples DIR] [--table CSV] [--json OUT.json]

Prints a Markdown table (docs/results.md keeps its output).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from genrekit import audio, features
from genrekit.datasets.feature_table import COLUMNS, track_id

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def summary_as_table(values: np.ndarray) -> dict[str, float]:
    """The ``summary`` preset's vector (one column) under the table's column names, where it has them."""
    names = features.get("summary").feature_names()
    got = dict(zip(names, values[:, 0].astype(np.float64)))
    out = {}
    for ours, theirs in (("centroid", "spectral_centroid"), ("bandwidth", "spectral_bandwidth"),
                         ("rolloff", "rolloff"), ("zcr", "zero_crossing_rate"), ("rms", "rms")):
        out[f"{theirs}_mean"], out[f"{theirs}_var"] = got[f"{ours}_mean"], got[f"{ours}_var"]
    for k in range(20):
        out[f"mfcc{k + 1}_mean"], out[f"mfcc{k + 1}_var"] = got[f"mfcc{k}_mean"], got[f"mfcc{k}_var"]
    means = np.array([got[f"chroma{i}_mean"] for i in range(12)])
    variances = np.array([got[f"chroma{i}_var"] for i in range(12)])
    out["chroma_stft_mean"] = float(means.mean())
    out["chroma_stft_var"] = float(variances.mean() + means.var())  # law of total variance, equal frames per bin
    out["tempo"] = got["tempo"]
    return out


def compare(samples: Path, table: Path) -> dict[str, dict[str, list[float]]]:
    """``{way: {column: [max relative, max absolute difference]}}`` over the excerpts."""
    with open(table, newline="") as stream:
        rows = {track_id(row["filename"]): row for row in csv.DictReader(stream)}
    ways = {"kaggle": features.get("kaggle"), "kaggle_constant": features.get("kaggle").replace(pad_mode="constant")}
    worst: dict[str, dict[str, list[float]]] = {way: {} for way in [*ways, "summary"]}
    files = sorted(samples.glob("*.wav"))
    if not files:
        raise SystemExit(f"no .wav excerpts in {samples}")
    for path in files:
        row = rows[track_id(path.name)]
        y = audio.load(str(path), sr=22050)
        computed = {way: dict(zip(spec.columns, spec.compute(y)[:, 0].astype(np.float64))) for way, spec in ways.items()}
        computed["summary"] = summary_as_table(features.get("summary").compute(y))
        for way, values in computed.items():
            for column, value in values.items():
                reference = float(row[column])
                relative = abs(value - reference) / max(abs(reference), 1e-30)
                current = worst[way].setdefault(column, [0.0, 0.0])
                current[0], current[1] = max(current[0], relative), max(current[1], abs(value - reference))
    return worst


def markdown(worst: dict[str, dict[str, list[float]]], n: int) -> str:
    lines = [f"| column | `kaggle` (reflect padding) | `kaggle`, `pad_mode=constant` (librosa >= 0.10) | "
             f"`summary` preset |", "|---|---|---|---|"]
    for column in COLUMNS:
        cells = []
        for way in ("kaggle", "kaggle_constant", "summary"):
            found = worst[way].get(column)
            cells.append("–" if found is None else f"{found[0]:.1e} ({found[1]:.1e})")
        lines.append(f"| {column} | " + " | ".join(cells) + " |")
    lines.append(f"\nLargest relative difference over the {n} excerpts (largest absolute difference in brackets).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=SHARED / "gtzan-samples")
    parser.add_argument("--table", type=Path, default=SHARED / "gtzan-kaggle-features" / "features_30_sec.csv")
    parser.add_argument("--json", type=Path, help="also write the numbers as JSON")
    args = parser.parse_args()
    worst = compare(args.samples, args.table)
    if args.json:
        args.json.write_text(json.dumps(worst, indent=1))
    print(markdown(worst, len(list(args.samples.glob("*.wav")))))


if __name__ == "__main__":
    main()
