"""Speed of Senac et al.'s eight music features (``genrekit.features.music``), one process.

For every track (the ten real GTZAN excerpts of ``../shared/data/gtzan-samples`` when present,
then generated tracks of genrekit's synthetic genres up to ``--tracks``), in one process with
one BLAS thread and the allocator settings of a feature worker:

- the whole ``senac2017_music`` map (``MusicFeatureMap.compute``, what extraction runs), wall
  clock and CPU time;
- each part on its own: the two shared spectrograms (1024-point for the frame-level spectral
  features, 4096-point for roughness and the chromagram) and each feature's own work.

Prints one JSON object: seconds per 30 s of audio for each part and in total, and the total
in x real time. Target (issue "music features"): >= 300x real time on the 2-core machine. The
load average is printed too: other jobs on the machine slow the wall-clock figures.

    python benchmarks/music_features.py [--tracks 20] [--seconds 30] [--repeat 3]
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

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gtzan-samples"


def load_tracks(n: int, seconds: float, samples: Path) -> list[tuple[str, np.ndarray]]:
    """Up to ``n`` tracks: the real excerpts first, then generated ones."""
    from genrekit import audio
    from genrekit.datasets import synthesis

    tracks = []
    if samples.is_dir():
        for path in sorted(samples.glob("*.wav"))[:n]:
            tracks.append((path.stem, audio.load(path, sr=22050)[: int(seconds * 22050)]))
    genres = synthesis.GENRES if hasattr(synthesis, "GENRES") else ("blues", "classical", "metal", "pop")
    k = 0
    while len(tracks) < n:
        genre = genres[k % len(genres)]
        tracks.append((f"synthetic-{genre}-{k}", synthesis.render(genre, seconds, 22050, seed=k)))
        k += 1
    return tracks


def parts(y: np.ndarray, spec) -> dict[str, float]:
    """Seconds of each part of the computation for one track (the map's own steps, one by one)."""
    from genrekit.features import music, spectral

    times: dict[str, float] = {}

    def timed(name, function, *args):
        start = time.perf_counter()
        result = function(*args)
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
        return result

    def short_spectrum():
        magnitude = np.sqrt(spectral.power_spectrogram(y, spec.n_fft, spec.hop_length, window_name=spec.window))
        return magnitude, np.log(np.maximum(magnitude, np.float32(1e-20)))

    def long_spectrum():
        power = spectral.power_spectrogram(y, spec.long_n_fft, spec.hop_length, window_name=spec.window)
        gain = np.float32(2.0 / float(spectral.window(spec.window, spec.long_n_fft, spec.long_n_fft).sum()))
        return power, np.sqrt(power) * gain

    magnitude, log_magnitude = timed("shared: 1024-point spectrogram", short_spectrum)
    long_power, long_magnitude = timed("shared: 4096-point spectrogram", long_spectrum)
    framed = spectral.frames(y, spec.n_fft, spec.hop_length)
    timed("energy", music.energy, framed)
    timed("zcr", music.zero_crossing_rate, framed)
    freqs = np.fft.rfftfreq(spec.n_fft, 1 / spec.sr)
    timed("brightness", music.brightness, magnitude, freqs, spec.brightness_cutoff)
    timed("flatness", music.flatness, magnitude, log_magnitude)
    timed("entropy", music.entropy, magnitude, log_magnitude)
    timed("roughness", music.roughness, long_magnitude, np.fft.rfftfreq(spec.long_n_fft, 1 / spec.sr),
          spec.roughness_contrast)
    def key_clarity():  # from the shared spectra above, not recomputed
        keys = music._KeyWindows(spec)
        keys.add(long_power)
        strengths, centres = keys.finish()
        return strengths.max(axis=1)[music._nearest(centres, long_power.shape[0])]

    timed("key_clarity", key_clarity)
    timed("hcdf", lambda: music.hcdf(spec._chroma(long_power), spec.hcdf_sigma * spec.sr / spec.hop_length))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=20, help="number of tracks (default 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds of each track (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per track; the fastest counts (default 3)")
    parser.add_argument("--samples", type=Path, default=SAMPLES, help="folder of real WAV excerpts")
    args = parser.parse_args()

    from genrekit import features
    from genrekit.pool import tune_process

    tune_process()  # as a feature worker: one BLAS thread, big buffers kept on the heap
    spec = features.get("senac2017_music")
    tracks = load_tracks(args.tracks, args.seconds, args.samples)
    audio_seconds = sum(y.shape[0] for _, y in tracks) / spec.sr
    load_before = os.getloadavg()

    wall = cpu = 0.0
    per_part: dict[str, float] = {}
    for _, y in tracks:
        spec.compute(y[: spec.sr])  # warm caches (window, chroma matrix) outside the timing
        best_wall, best_cpu = float("inf"), float("inf")
        for _ in range(args.repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            spec.compute(y)
            best_wall = min(best_wall, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        wall += best_wall
        cpu += best_cpu
        best_parts: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, seconds in parts(y, spec).items():
                best_parts[name] = min(best_parts.get(name, float("inf")), seconds)
        for name, seconds in best_parts.items():
            per_part[name] = per_part.get(name, 0.0) + seconds

    per_30 = 30.0 / audio_seconds
    output = {
        "benchmark": "music_features",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "processor": platform.processor() or platform.machine(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "preset": "senac2017_music",
        "tracks": len(tracks),
        "real_tracks": sum(not name.startswith("synthetic") for name, _ in tracks),
        "audio_seconds": round(audio_seconds, 1),
        "process": "one process, one BLAS thread; fastest of --repeat runs per track",
        "seconds_per_30s_track": {name: round(seconds * per_30, 5) for name, seconds in per_part.items()},
        "seconds_per_30s_track_sum_of_parts": round(sum(per_part.values()) * per_30, 4),
        "total": {"seconds_per_30s_track": round(wall * per_30, 4), "x_realtime": round(audio_seconds / wall, 1),
                  "cpu_seconds_per_30s_track": round(cpu * per_30, 4),
                  "x_realtime_cpu": round(audio_seconds / cpu, 1)},
        "targets": {"x_realtime": {"target": 300, "measured": round(audio_seconds / wall, 1),
                                   "met": audio_seconds / wall >= 300}},
    }
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    sys.exit(main())
