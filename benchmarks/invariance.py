"""Does the answer depend on the music only? Both bundled models on the same recordings, changed as real files are.

Every recording (by default the ten real GTZAN excerpts in ``../shared/data/gtzan-samples``) is written
again in each way of :data:`genrekit.robustness.VARIANTS` (resampled to 32 / 44.1 / 48 / 96 kHz, 24-bit and
float samples, stereo with different channels, 5.1 down-mixed, gain, silence before and after, fades, a DC
offset, inside a longer recording, as a whole ripped song), and all files are classified through
``Classifier.predict``, as users classify files. Prints one JSON object: per model, per change, the largest
change of any genre probability against the original file, the number of files whose top genre changed,
and the file that moved most; with ``--markdown`` also the model card's table on standard error.

    python benchmarks/invariance.py [--models NAME ...] [--samples DIR] [--markdown]

Without the samples folder it prints ``{"skipped": reason}`` and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path


def default_samples() -> Path:
    """``../shared/data/gtzan-samples`` beside the checkout (or under ``$GENREKIT_SHARED_DATA``)."""
    shared = os.environ.get("GENREKIT_SHARED_DATA")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2] / "shared" / "data"
    return base / "gtzan-samples"


def real_excerpts(folder: Path) -> list[Path]:
    """The ``*.wav`` excerpts in ``folder``; with none, prints ``{"skipped": reason}`` (the benchmark's JSON)."""
    files = sorted(folder.glob("*.wav"))
    if not files:
        print(json.dumps({"skipped": f"no *.wav in {folder} (the real GTZAN excerpts of ../shared/data)"}))
    return files


def markdown(results: dict) -> str:
    models = list(results)
    lines = ["| changed by | " + " | ".join(f"{m}: max change, top-genre changes" for m in models) + " |",
             "| --- |" + " --- |" * len(models)]
    for variant in results[models[0]]:
        if variant == "originals":
            continue
        cells = [f"{results[m][variant]['max_change']:.3f}, {results[m][variant]['top_changes']} of "
                 f"{results[m][variant]['files']}" for m in models]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    from genrekit import load_model
    from genrekit.inference import BUNDLED_MODELS
    from genrekit.robustness import MAX_CHANGE, measure

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(BUNDLED_MODELS))
    parser.add_argument("--samples", type=Path, default=default_samples())
    parser.add_argument("--markdown", action="store_true", help="also print the model card's table (stderr)")
    args = parser.parse_args()
    files = real_excerpts(args.samples)
    if not files:
        return
    warnings.filterwarnings("ignore", category=FutureWarning)
    results = {}
    for name in args.models:
        with tempfile.TemporaryDirectory() as folder:
            results[name] = measure(load_model(name), files, folder)
    print(json.dumps({"target": {"max_change": MAX_CHANGE, "top_changes": 0}, "files": [f.name for f in files],
                      "models": results}, indent=1))
    if args.markdown:
        print(markdown(results), file=sys.stderr)


if __name__ == "__main__":
    main()
