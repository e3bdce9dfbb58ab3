"""Classification speed: ``Classifier.predict`` over a folder against a naive per-file loop.

Generates N tracks of 30 s (noise and tones with a beat, 16-bit WAV at 22050 Hz; written
once into ``--data`` and reused), loads the model once, then measures in one run:

- ``Classifier.predict(folder)``: worker processes decode and featurise, this process
  scores the clips of many files per batch (pool start-up included);
- the naive loop a script would write with the standard tools: for each file
  ``librosa.load``, ``librosa.feature.melspectrogram`` + ``librosa.power_to_db`` and the
  coarse-mel quantisation and column picking (the recipe of the data set's README), the
  PyTorch network on that file's clips, one file after another, no workers;
- the same loop with genrekit's own featuriser (``genrekit.audio.load`` + ``spec.compute``),
  which already carries the per-file optimisations, so it isolates what parallel decoding
  and batching add on this machine.

Prints one JSON object with, per model and backend, songs per second, times real time, the machine's
load average (the 1-minute figure before and after each measurement: other jobs share these CPUs) and
the targets of issues 7 and 12 (>= 60 songs/s, 1800x real time, >= 3x the naive loop).

    python benchmarks/predict.py [--models SOURCE ...] [--backends torch onnx] [--tracks 1000] [--data DIR]

By default both bundled models (``genrekit-coarse-mel-v2`` and the default ``genrekit-musicnn-v3``,
which scores with the pruned musicnn) on 1,000 tracks, one after the other; the naive loops run over the
first ``--naive-tracks`` files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from genrekit.inference import BUNDLED_MODELS

SR = 22050


def generate(folder: Path, tracks: int, seconds: float) -> list[Path]:
    """``tracks`` WAV files of ``seconds`` (kept when already there): noise, a chord, a beat."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"track{i:04d}.wav" for i in range(tracks)]
    n = int(round(seconds * SR))
    t = np.arange(n) / SR
    for i, path in enumerate(paths):
        if path.exists() and sf.info(str(path)).frames == n:
            continue
        rng = np.random.default_rng(i)
        y = rng.uniform(0.02, 0.2) * rng.standard_normal(n)
        for freq in rng.uniform(80, 2000, size=rng.integers(2, 6)):
            y += rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * freq * t)
        y *= 0.6 + 0.4 * np.sign(np.sin(2 * np.pi * rng.uniform(1, 3) * t))  # a beat
        y = (0.9 * y / np.abs(y).max()).astype(np.float32)
        sf.write(str(path), y, SR, subtype="PCM_16")
    return paths


def naive_loop(paths: list[Path], classifier, model) -> float:
    """Seconds for decode + features + network, file by file, with a torch network."""
    import torch

    from genrekit import audio

    spec = classifier.spec
    start = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            y = audio.load(path, sr=spec.sr)
            clips = spec.clips(spec.compute(y))
            probabilities = torch.softmax(model(torch.from_numpy(np.ascontiguousarray(clips))), dim=1).mean(0)
            assert probabilities.shape[0] == len(classifier.genres)
    return time.perf_counter() - start


def librosa_loop(paths: list[Path], classifier, model) -> float:
    """Seconds for the coarse-mel recipe written with librosa, file by file (a coarse_mel model only)."""
    import librosa
    import torch

    spec = classifier.spec
    if spec.kind != "coarse_mel":
        raise SystemExit("the librosa loop implements the coarse_mel front end only")
    start = time.perf_counter()
    with torch.inference_mode():
        for path in paths:
            y, _ = librosa.load(str(path), sr=spec.sr)
            mel = librosa.feature.melspectrogram(y=y, sr=spec.sr, n_fft=spec.n_fft, hop_length=spec.hop_length,
                                                 n_mels=spec.n_mels)
            db = librosa.power_to_db(mel, ref=np.max, top_db=spec.top_db)
            scaled = (db - db.min()) / max(float(db.max() - db.min()), 1e-12)
            level = np.minimum(spec.levels - 1, np.floor(spec.levels * scaled))[:, spec.columns(db.shape[1])]
            features = (-spec.top_db + spec.top_db / (spec.levels - 1) * level).astype(np.float32)
            clips = spec.clips(features)
            probabilities = torch.softmax(model(torch.from_numpy(np.ascontiguousarray(clips))), dim=1).mean(0)
            assert probabilities.shape[0] == len(classifier.genres)
    return time.perf_counter() - start


def measured(seconds: float, tracks: int, audio_seconds: float, load_before: float) -> dict:
    return {"seconds": round(seconds, 3), "songs_per_s": round(tracks / seconds, 1),
            "x_realtime": round(audio_seconds / seconds, 1),
            "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def measure_model(source: str | None, backend: str, paths: list[Path], args) -> dict:
    """``Classifier.predict`` over every path (and the naive loops over the first ``args.naive_tracks``)."""
    from genrekit.pool import default_workers
    from genrekit.inference import load_model

    seconds = args.seconds
    t0 = time.perf_counter()
    classifier = load_model(source, backend=backend, clip_hop=args.clip_hop, workers=args.workers,
                            batch_size=args.batch_size)
    load_s = time.perf_counter() - t0
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    predictions = classifier.predict([str(p) for p in paths])
    predict_s = time.perf_counter() - t0
    failed = [p for p in predictions if not p.ok]
    assert not failed, failed[:3]
    results = {"model": classifier.model_id, "backend": backend, "spec": classifier.spec.name,
               "clip_frames": classifier.scorer.frames, "model_load_seconds": round(load_s, 2),
               "classifier_predict": {**measured(predict_s, len(paths), len(paths) * seconds, load_before),
                                      "workers": args.workers or default_workers(),
                                      "clip_hop": classifier.scorer.hop, "batch_size": args.batch_size}}
    naive = paths[:args.naive_tracks]
    if naive and backend == "torch":
        model = classifier.scorer.model
        load_before = os.getloadavg()[0]
        naive_s = naive_loop(naive, classifier, model)
        results["naive_loop"] = {**measured(naive_s, len(naive), len(naive) * seconds, load_before),
                                 "tracks": len(naive), "clip_hop": classifier.spec.clip.hop,
                                 "what": "audio.load + spec.compute + spec.clips + torch network, per file"}
        if classifier.spec.kind == "coarse_mel":
            load_before = os.getloadavg()[0]
            librosa_s = librosa_loop(naive, classifier, model)
            results["naive_librosa_loop"] = {**measured(librosa_s, len(naive), len(naive) * seconds, load_before),
                                             "tracks": len(naive), "clip_hop": classifier.spec.clip.hop,
                                             "what": "librosa.load + librosa mel/power_to_db + quantise + clips + "
                                                     "torch network, per file"}
    songs = results["classifier_predict"]["songs_per_s"]
    targets = {"songs_per_s": {"target": 60, "measured": songs, "met": songs >= 60},
               "x_realtime": {"target": 1800, "measured": results["classifier_predict"]["x_realtime"],
                              "met": songs * seconds >= 1800}}
    for name in ("naive_librosa_loop", "naive_loop"):
        if name in results:
            speedup = round(songs / results[name]["songs_per_s"], 2)
            targets[f"vs_{name}"] = {"target": 3.0, "measured": speedup, "met": speedup >= 3.0}
    results["targets"] = targets
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(BUNDLED_MODELS),
                        help="model sources, measured one after another (default: both bundled models)")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=["torch", "onnx"])
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--naive-tracks", type=int, default=200,
                        help="files the naive per-file loops run over (the first ones; 0: skip them)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: one per CPU)")
    parser.add_argument("--clip-hop", type=int, default=None, help="hop between scored clips (default: the model's)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data", type=Path, default=Path("/tmp/genrekit-bench-predict"),
                        help="where the generated tracks live (reused between runs)")
    args = parser.parse_args()

    import torch

    from genrekit.pool import default_workers

    t0 = time.perf_counter()
    paths = generate(args.data / f"{args.tracks}x{args.seconds:g}s", args.tracks, args.seconds)
    generation_s = time.perf_counter() - t0
    for path in paths:  # every path starts from the page cache alike
        path.read_bytes()
    output = {
        "benchmark": "predict",
        "machine": {"cpus": default_workers(), "platform": platform.platform(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads()},
        "tracks": len(paths),
        "seconds_per_track": args.seconds,
        "generation_seconds": round(generation_s, 1),
        "models": [measure_model(source, backend, paths, args) for source in args.models for backend in args.backends],
    }
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    sys.exit(main())
