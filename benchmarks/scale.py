"""Tagging throughput on Ray against the local process pool, on this machine.

Generates N tracks of 30 s (``benchmarks/predict.py``'s ``generate``: noise, a chord, a beat; 16-bit WAV at
22050 Hz, written once into ``--data`` and reused) and classifies them with the same model:

- ``local``: ``Classifier.predict`` (worker processes decode and featurise, this process scores);
- ``ray_actors_K``: :class:`genrekit.scale.RayClassifier` on a Ray instance started here
  (``--ray local``), K actors that featurise and score (one CPU each: the pipeline on CPU clusters);
- ``ray_separate_scoring_actors_K``: the pipeline a cluster with GPUs gets (featurising tasks, then K
  scoring actors), here on CPUs.

For each: wall seconds, the time to the first result (start-up: the pool's processes, or Ray's
scheduling, actors and the model loaded in each actor) and the rate after start-up (results from the
end of the first tenth to the last).

Also the catalogue's write rates (``catalogue``, ``--catalogue-rows``): rows per second committed one per
transaction (the driver), written as Parquet parts (a worker) and merged into SQLite (``tag --merge``).

Also: Ray's start-up (``ray.init`` of a local instance), the per-track overhead of Ray against the local
pool, and the CPU seconds per song: the CPU time of this process and every process below it (pool
workers; Ray's raylet, GCS and workers, sampled from /proc every 0.2 s) over the run, divided by N. The
machine's load average before and after each run is printed too: other jobs share these CPUs.

    python benchmarks/scale.py --only-catalogue [--catalogue-rows 20000]
    python benchmarks/scale.py [--tracks 1000] [--actors 1 2] [--separate-actors 1 2] [--model genrekit-coarse-mel-v2] [--data DIR]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from predict import generate  # noqa: E402  (benchmarks/predict.py)

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU seconds of this process and all its descendants during a ``with`` block (sampled; the last
    sample of a process that exits between samples is what counts)."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()

    def _sample(self) -> dict[int, float]:
        parents, cpu = {}, {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                found = _cpu_of(int(entry))
                if found:
                    parents[int(entry)], cpu[int(entry)] = found
        ours, todo = {os.getpid()}, [os.getpid()]
        children: dict[int, list[int]] = {}
        for pid, parent in parents.items():
            children.setdefault(parent, []).append(pid)
        while todo:
            for child in children.get(todo.pop(), []):
                ours.add(child)
                todo.append(child)
        return {pid: cpu[pid] for pid in ours if pid in cpu}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid, seconds in self._sample().items():
                self.seen[pid] = max(self.seen.get(pid, 0.0), seconds)

    def __enter__(self) -> "CpuMeter":
        self.start = self._sample()
        self.seen = dict(self.start)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        for pid, seconds in self._sample().items():
            self.seen[pid] = max(self.seen.get(pid, 0.0), seconds)

    @property
    def seconds(self) -> float:
        return sum(s - self.start.get(pid, 0.0) for pid, s in self.seen.items())


def timed(run, tracks: int) -> dict:
    """Run ``run(on_result)`` once: wall and CPU seconds, the first result's time (start-up) and the rate
    after start-up (from the result that ends the first tenth to the last one)."""
    load = os.getloadavg()[0]
    arrivals: list[float] = []
    with CpuMeter() as meter:
        start = time.perf_counter()
        predictions = run(lambda index, prediction: arrivals.append(time.perf_counter() - start))
        seconds = time.perf_counter() - start
    assert len(predictions) == tracks and all(p.ok for p in predictions), [p.error for p in predictions if not p.ok][:3]
    first = max(1, tracks // 10)
    rate = (tracks - first) / (arrivals[-1] - arrivals[first - 1]) if arrivals[-1] > arrivals[first - 1] else None
    return {"tracks": tracks, "seconds": round(seconds, 2), "songs_per_s": round(tracks / seconds, 1),
            "first_result_seconds": round(arrivals[0], 2),
            "songs_per_s_after_startup": round(rate, 1) if rate else None,
            "cpu_seconds": round(meter.seconds, 1), "cpu_seconds_per_song": round(meter.seconds / tracks, 4),
            "load_1min": [round(load, 2), round(os.getloadavg()[0], 2)]}


def catalogue_rates(rows: int, folder: Path) -> dict:
    """Rows per second into one SQLite catalogue: one transaction per file (the driver's commits), and
    Parquet parts of 1,000 rows (the workers') merged in one go (``genrekit tag --merge``)."""
    import shutil

    from genrekit.catalogue_parts import merge, write_part
    from genrekit.inference import Prediction
    from genrekit.tagger import Catalogue, FileIdentity, catalogue_row

    genres = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    made = [(f"/music/{i // 1000:04d}/track{i:07d}.flac", FileIdentity(4_000_000 + i, 10**18 + i, f"{i:040x}"),
             Prediction(f"track{i}", genre=genres[i % 10], probabilities={g: 0.1 for g in genres}, seconds=30.0))
            for i in range(rows)]
    out: dict = {"rows": rows}
    start = time.perf_counter()
    with Catalogue(folder / "driver.sqlite") as catalogue:
        for path, identity, prediction in made:
            catalogue.record(path, identity, "model", prediction)
    out["driver_commits_per_s"] = round(rows / (time.perf_counter() - start))
    out["catalogue_bytes_per_row"] = round((folder / "driver.sqlite").stat().st_size / rows)
    start = time.perf_counter()
    for first in range(0, rows, 1000):
        write_part([catalogue_row(path, identity, "model", prediction)
                    for path, identity, prediction in made[first:first + 1000]], folder / "parts")
    out["parts_rows_per_s_one_writer"] = round(rows / (time.perf_counter() - start))
    start = time.perf_counter()
    merge(folder / "parts", folder / "merged.sqlite")
    out["merge_rows_per_s"] = round(rows / (time.perf_counter() - start))
    out["parts_bytes_per_row"] = round(sum(p.stat().st_size for p in (folder / "parts").iterdir()) / rows)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--separate-actors", type=int, nargs="*", default=[1, 2],
                        help="also the pipeline for GPUs (featurising tasks, then K scoring actors) on these CPUs")
    parser.add_argument("--model", default="genrekit-coarse-mel-v2")
    parser.add_argument("--data", type=Path, default=Path("/tmp/genrekit-bench-predict"))
    parser.add_argument("--catalogue-rows", type=int, default=20000,
                        help="rows for the catalogue's write rates (0: skip)")
    parser.add_argument("--only-catalogue", action="store_true", help="measure only the catalogue's write rates")
    args = parser.parse_args()
    if args.only_catalogue:
        print(json.dumps({"catalogue": catalogue_rates(args.catalogue_rows, args.data / "catalogue")}, indent=2))
        return

    from genrekit import scale
    from genrekit.inference import load_model

    paths = [str(p) for p in generate(args.data / f"{args.tracks}x{args.seconds:g}s", args.tracks, args.seconds)]
    out: dict = {"model": args.model, "tracks": args.tracks, "audio_seconds": args.seconds,
                 "cpus": os.cpu_count(), "machine": platform.processor() or platform.machine()}

    classifier = load_model(args.model)
    out["local"] = timed(lambda on_result: classifier.predict(paths, on_result=on_result), len(paths))
    local_rate = out["local"]["songs_per_s_after_startup"]

    start = time.perf_counter()
    info = scale.connect("local")
    out["ray_startup_seconds"] = round(time.perf_counter() - start, 2)
    out["ray_cluster"] = info
    runs = [(f"ray_actors_{k}", k, False) for k in args.actors]
    runs += [(f"ray_separate_scoring_actors_{k}", k, True) for k in args.separate_actors]
    for name, actors, separate in runs:
        ray_classifier = scale.RayClassifier(args.model, address="local", actors=actors, separate_scoring=separate)
        result = timed(lambda on_result: ray_classifier.predict(paths, on_result=on_result), len(paths))
        rate = result["songs_per_s_after_startup"]
        if rate and local_rate:
            result["per_track_overhead_ms"] = round(1000 * (1 / rate - 1 / local_rate), 2)
            result["throughput_vs_local_after_startup"] = round(rate / local_rate, 3)
        out[name] = result
    scale.shutdown()
    if args.catalogue_rows:
        out["catalogue"] = catalogue_rates(args.catalogue_rows, args.data / "catalogue")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
