"""Feature extraction speed: genrekit's parallel, cached pipeline against plain librosa.

Generates N synthetic 30 s tracks (real WAV files, 22050 Hz), then measures in one run:

- every preset through ``genrekit.features.extract`` into a fresh (cold) cache, with the
  default worker count (one per CPU), and the Yang & Zhang preset with one worker;
- the same tracks through the plain per-file path a research script would use:
  ``librosa.load(path, sr=22050)`` + ``librosa.feature.melspectrogram`` (Yang & Zhang's
  parameters) + ``librosa.power_to_db``, one file after another;
- a warm run (everything cached) of the Yang & Zhang preset.

Prints one JSON object. Targets (issue "Foundation"): yang2019 >= 2000x real time on a
2-core machine, and >= 1.5x the plain librosa path.

    python benchmarks/features.py [--tracks 200] [--seconds 30] [--presets yang2019,dong2018]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path


def librosa_baseline(paths: list[str], sr: int = 22050) -> float:
    """Seconds for the plain per-file librosa path (Yang & Zhang's log-mel parameters)."""
    import librosa
    import numpy as np

    start = time.perf_counter()
    for path in paths:
        y, _ = librosa.load(path, sr=sr)
        mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=512, n_mels=256)
        db = librosa.power_to_db(mel, ref=np.max, top_db=80.0)
        assert db.shape[0] == 256
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=200, help="number of generated tracks (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="track length in seconds (default 30)")
    parser.add_argument("--presets", default="yang2019,dong2018,wang,zhang2016,summary,senac2017_music",
                        help="comma-separated presets to time")
    parser.add_argument("--data", type=Path, default=None,
                        help="where to generate the tracks (default: a temporary folder, removed after)")
    args = parser.parse_args()

    from genrekit import features
    from genrekit.datasets import folder
    from genrekit.datasets.synthesis import GENRES, write_tree
    from genrekit.pool import default_workers

    work = Path(tempfile.mkdtemp(prefix="genrekit-bench-"))
    data = args.data or work / "data"
    per_genre = -(-args.tracks // len(GENRES))
    t0 = time.perf_counter()
    tree = write_tree(data, n_per_genre=per_genre, seconds=args.seconds, seed=0)
    tracks = folder(tree)[: args.tracks]
    generation_s = time.perf_counter() - t0
    audio_seconds = sum(t.duration for t in tracks)

    # Read every file once so all paths start from the page cache alike.
    for track in tracks:
        Path(track.path).read_bytes()

    def rates(seconds: float) -> dict:
        return {"seconds": round(seconds, 3), "tracks_per_s": round(len(tracks) / seconds, 1),
                "x_realtime": round(audio_seconds / seconds, 1)}

    results: dict[str, dict] = {}
    workers = default_workers()
    for name in [p for p in args.presets.split(",") if p]:
        cache = work / f"cache-{name}"
        report = features.extract(tracks, name, cache=cache, progress=False)
        assert not report.failed, report.summary()
        results[name] = {**rates(report.seconds), "workers": report.workers}
        shutil.rmtree(cache)

    single = features.extract(tracks, "yang2019", cache=work / "cache-single", workers=1, progress=False)
    warm = features.extract(tracks, "yang2019", cache=work / "cache-single", progress=False)
    baseline_s = librosa_baseline([t.path for t in tracks])

    yang = results.get("yang2019")
    output = {
        "benchmark": "features",
        "machine": {"cpus": workers, "platform": platform.platform(), "python": platform.python_version()},
        "tracks": len(tracks),
        "seconds_per_track": args.seconds,
        "audio_seconds": round(audio_seconds, 1),
        "generation_seconds": round(generation_s, 1),
        "presets": results,
        "yang2019_one_worker": {**rates(single.seconds), "workers": 1},
        "yang2019_warm_cache": rates(warm.seconds),
        "librosa_plain_loop": {**rates(baseline_s), "what": "librosa.load + melspectrogram(n_fft=1024, hop=512, "
                                                            "n_mels=256) + power_to_db, per file, in turn"},
    }
    if yang:
        output["targets"] = {
            "yang2019_x_realtime": {"target": 2000, "measured": yang["x_realtime"],
                                    "met": yang["x_realtime"] >= 2000},
            "yang2019_vs_librosa": {"target": 1.5, "measured": round(baseline_s / yang["seconds"], 2),
                                    "met": baseline_s / yang["seconds"] >= 1.5},
            "gtzan_1000_tracks_seconds_estimate": round(1000 * 30.0 / yang["x_realtime"], 1),
        }
    print(json.dumps(output, indent=2))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
