"""Peak memory and speed of feature extraction on one long recording, per preset.

Writes one generated WAV of ``--minutes`` (22050 Hz mono: a 10 s pattern of noise and tones,
tiled, written block by block), then for each preset runs a fresh Python process that
extracts the file's features into an empty cache in-process (``features.extract(...,
workers=1)`` with a worker's thread and allocator settings: the work one extraction worker
does) and reports, from
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` in that process:

- ``baseline_mb``: the peak after imports and one warm-up extraction of a 5 s file (lazy
  imports, FFT plans, librosa's caches: the fixed cost of a worker);
- ``peak_mb``: the peak after the long file; ``extra_mb = peak_mb - baseline_mb`` is what the
  recording's length costs;
- ``seconds`` and ``x_real_time`` of the long file.

Prints one JSON object.

    python benchmarks/long_files.py [--minutes 60] [--presets yang2019,senac2017_music]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

#: Run in a fresh process per preset, so that each peak is that preset's alone.
MEASURE = """
import json, resource, sys, time
from pathlib import Path
from genrekit import features
from genrekit.datasets.base import Track
from genrekit.pool import tune_process

def track(path):
    return Track(id=Path(path).stem, path=str(path), genre="x")

long_file, short_file, preset, cache = sys.argv[1:5]
tune_process()  # as an extraction worker: one BLAS thread, its allocator settings
warm = features.extract([track(short_file)], preset, cache=cache + "/warm", workers=1, progress=False)
assert not warm.failed, warm.failed
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
report = features.extract([track(long_file)], preset, cache=cache + "/long", workers=1, progress=False)
seconds = time.perf_counter() - start
assert not report.failed, report.failed
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"baseline_mb": baseline / 1024, "peak_mb": peak / 1024, "extra_mb": (peak - baseline) / 1024,
                  "seconds": seconds, "audio_seconds": report.audio_seconds}))
"""


def write_long_wav(path: Path, seconds: float, sr: int = 22050) -> Path:
    """A ``seconds`` long WAV of a tiled 10 s pattern (noise, a chord, silence gaps), in bounded memory."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(10 * sr) / sr
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.18, 329.63)) / 3
    pattern = (0.3 * chord * (np.sin(2 * np.pi * 0.5 * t) > -0.5) + 0.05 * rng.standard_normal(t.size))
    pattern = pattern.astype(np.float32)
    total = int(round(seconds * sr))
    with sf.SoundFile(str(path), "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        for start in range(0, total, pattern.size):
            out.write(pattern[:min(pattern.size, total - start)])
    return path


def measure(long_file: Path, short_file: Path, preset: str, cache: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(long_file), str(short_file), preset, str(cache)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{preset}: {done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["x_real_time"] = result["audio_seconds"] / result["seconds"]
    return {k: round(v, 1) for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the recording (default 60)")
    parser.add_argument("--presets", default=None, help="comma-separated presets (default: every preset)")
    args = parser.parse_args()

    from genrekit import features

    presets = args.presets.split(",") if args.presets else features.names()
    with tempfile.TemporaryDirectory(prefix="genrekit-long-") as work:
        work = Path(work)
        long_file = write_long_wav(work / "long.wav", args.minutes * 60)
        short_file = write_long_wav(work / "short.wav", 5.0)
        results = {preset: measure(long_file, short_file, preset, work / preset) for preset in presets}
    print(json.dumps({"benchmark": "long_files", "minutes": args.minutes, "python": platform.python_version(),
                      "machine": platform.machine(), "presets": results}, indent=2))


if __name__ == "__main__":
    main()
