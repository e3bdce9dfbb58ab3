"""What the bundled model reads of a whole song: every 30 s window, or a budget of windows spread over it.

Builds 4-minute songs from the ten real GTZAN excerpts in ``../shared/data/gtzan-samples`` and writes them as
ripped songs are (44.1 kHz stereo 16-bit WAV, 1.5 s of silence, 3 s fade-in and fade-out, 4 s of silence):

- ``looped``: each excerpt played eight times over (one genre for four minutes);
- ``medley``: eight different excerpts one after another (a genre-mixed song, where the answer is close);

then, for the default model, classifies each song reading every window (what genrekit does) and reading only
``--budget`` windows spread evenly over it, and prints JSON: the largest change of a genre probability and the
top-genre changes between the two, whether the looped song gets the excerpt's own answer, and the CPU seconds
per 4-minute song of each reading (one process, one thread; decoding included).

    python benchmarks/whole_songs.py [--budget 4] [--model NAME] [--samples DIR]

Without the samples folder it prints ``{"skipped": reason}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from invariance import default_samples, real_excerpts  # noqa: E402  (benchmarks/ is on sys.path)

SR = 22050


def as_ripped(music: np.ndarray, path: Path) -> Path:
    """``music`` (22,050 Hz mono) written as a ripped song (``genrekit.robustness.whole_song``), 16-bit."""
    import soundfile as sf

    from genrekit.robustness import whole_song

    samples, rate = whole_song(music, SR)
    sf.write(path, np.clip(samples, -1.0, 1.0).astype(np.float32), rate, subtype="PCM_16")
    return path


def read(classifier, path: Path, budget: int | None) -> tuple[dict, float]:
    """Probabilities of a file from every window (``budget=None``) or ``budget`` windows spread evenly, and the
    CPU seconds it took."""
    from genrekit.features.windows import file_windows

    start = time.process_time()
    found = list(file_windows(path, classifier.spec)) if budget is None else None
    if budget is not None:  # featurise only the chosen windows, at one phase as a long song's are
        from genrekit import audio
        from genrekit.features.windows import Window

        y = audio.load(path)
        size = 30 * SR
        starts = np.arange(0, max(1, y.shape[0] - size // 2), size)
        chosen = starts[np.unique(np.linspace(0, len(starts) - 1, budget).round().astype(int))]
        found = [Window(s / SR, size / SR, classifier.spec.compute(y[s:s + size])) for s in chosen]
    probabilities = classifier._combine(np.concatenate(classifier.scorer(found)))
    return dict(zip(classifier.genres, map(float, probabilities))), time.process_time() - start


def main() -> None:
    import torch

    from genrekit import audio, load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=4)
    parser.add_argument("--model", default=None)
    parser.add_argument("--samples", type=Path, default=default_samples())
    args = parser.parse_args()
    files = real_excerpts(args.samples)
    if not files:
        return
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)
    classifier = load_model(args.model, workers=1)
    excerpts = {f.stem: audio.load(f) for f in files}
    names = list(excerpts)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        songs = []
        for i, name in enumerate(names):
            looped = np.concatenate([excerpts[name]] * 8)
            songs.append(("looped", name, as_ripped(looped, Path(folder) / f"{name}.looped.wav")))
            medley = np.concatenate([excerpts[names[(i + k) % len(names)]] for k in range(8)])
            songs.append(("medley", name, as_ripped(medley, Path(folder) / f"{name}.medley.wav")))
        for kind, name, path in songs:
            every, every_cpu = read(classifier, path, None)
            spread, spread_cpu = read(classifier, path, args.budget)
            row = {"song": f"{name} {kind}", "seconds": round(audio.info(path).duration, 1),
                   "genre": max(every, key=every.get), "budget_genre": max(spread, key=spread.get),
                   "max_change": round(max(abs(every[g] - spread[g]) for g in every), 4),
                   "cpu_s_every": round(every_cpu, 2), "cpu_s_budget": round(spread_cpu, 2)}
            if kind == "looped":
                alone = classifier.predict([files[names.index(name)]])[0]
                row["excerpt_genre"] = alone.genre
                row["max_change_vs_excerpt"] = round(max(abs(every[g] - alone.probabilities[g]) for g in every), 4)
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    summary = {}
    for kind in ("looped", "medley"):
        part = [r for r in rows if r["song"].endswith(kind)]
        summary[kind] = {
            "songs": len(part),
            "budget_max_change": max(r["max_change"] for r in part),
            "budget_top_changes": sum(r["genre"] != r["budget_genre"] for r in part),
            "cpu_s_per_song_every_window": round(float(np.mean([r["cpu_s_every"] for r in part])), 2),
            "cpu_s_per_song_budget": round(float(np.mean([r["cpu_s_budget"] for r in part])), 2),
        }
        if kind == "looped":
            summary[kind]["same_genre_as_the_excerpt_alone"] = sum(r["genre"] == r["excerpt_genre"] for r in part)
            summary[kind]["max_change_vs_the_excerpt_alone"] = max(r["max_change_vs_excerpt"] for r in part)
    print(json.dumps({"model": classifier.model_id, "budget_windows": args.budget, "summary": summary,
                      "songs": rows}, indent=1))


if __name__ == "__main__":
    main()
