"""Forward-pass speed of musicnn on the CPU: the full network and the pruned one
(``genrekit.models.musicnn_prune``), fp32 and bf16 autocast.

    python benchmarks/musicnn.py [--model MSD_musicnn] [--batches 1 10 40] [--seconds 3] [--chunk N]

Per network and precision (and for the pruned network, also exported to ONNX and run by ONNX Runtime,
whole batches, threads that do not spin; bf16 autocast only where the CPU computes bf16 natively:
``genrekit.training.resolve_precision``): GFLOP per 3 s patch (187 frames) counted from the layer shapes
(convolutions and dense layers, 2 per multiply-add, as executed: the pruned front end's merged temporal
convolution counts its zero taps), the largest taggram difference from the full fp32 network on musicnn's
inputs of the ten real excerpts (``../shared/data/musicnn-reference``; random patches when absent), and per
batch size (1 patch, 10 = one 30 s song, and larger batches, run ``chunk`` patches at a time:
``Musicnn.chunk``, ``--chunk``):

- ``cpu_1_thread``: patches per second of the calling thread's CPU time, PyTorch on one thread (which
  runs every operator in the calling thread; little affected by other processes, and not by an OpenMP
  pool left spinning by a 2-thread measurement: the figure to compare);
- ``wall_1_thread``, ``wall_2_threads``: wall-clock patches per second (median of windows; sensitive to
  other processes, and on two cores an OpenMP pool beside other busy processes spins).

``songs_per_s`` divides by 10 patches per song. ``budget`` is what a pipeline at 60 songs/s on this
machine's cores may spend per song in all (decoding, features and network), in CPU milliseconds;
``pipeline_estimate`` measures what the default model's pipeline spends before the network (decoding a
generated 30 s file, ``coarse_mel``, the ``musicnn_coarse`` adapter; one thread) and adds the network's
CPU time at the largest batch, for the songs/s that all cores could reach if they did nothing else (no
process start-up, no scheduling losses: an upper bound).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from torch import nn

from genrekit import audio, datasets, features
from genrekit.features import musicnn_input
from genrekit.models import musicnn, musicnn_prune
from genrekit.training import resolve_precision

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "musicnn-reference" / "musicnn_tf_reference.npz"
PATCHES_PER_SONG = 10


def gflop_per_patch(net: nn.Module, frames: int = musicnn.N_FRAMES) -> float:
    """Multiply-adds x 2 of the convolutions and dense layers for one patch, from the shapes they see."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features
        else:
            per_output = module.in_channels // module.groups * int(np.prod(module.kernel_size))
            total += 2 * output[0].numel() * per_output
            if isinstance(module, musicnn_prune.FoldedConv1d):  # the dead channels' term: 1 input channel
                total += 2 * output[0].numel() * module.kernel_size[0]

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        net(torch.zeros(1, frames, musicnn.N_MELS))
    for hook in hooks:
        hook.remove()
    return total / 1e9


def patches(n: int) -> torch.Tensor:
    """Real inputs when present (cycled to ``n``), else random ones on musicnn's scale."""
    if REFERENCE.is_file():
        with np.load(REFERENCE) as saved:
            real = torch.from_numpy(saved["inputs"].reshape(-1, musicnn.N_FRAMES, musicnn.N_MELS))
        return real[torch.arange(n) % len(real)]
    return torch.rand(n, musicnn.N_FRAMES, musicnn.N_MELS, generator=torch.Generator().manual_seed(0)) * 3


def rate(run, batch: int, seconds: float, clock) -> float:
    """Patches per second of ``clock`` (median of 3 windows of ``seconds / 3``)."""
    run()
    rates = []
    for _ in range(3):
        start, n = clock(), 0
        while clock() - start < seconds / 3 or n == 0:
            run()
            n += batch
        rates.append(n / (clock() - start))
    return statistics.median(rates)


def measure(net: nn.Module, precision: str, batches: list[int], seconds: float, expected: torch.Tensor,
            x_check: torch.Tensor) -> dict:
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else nullcontext()
    with torch.inference_mode(), autocast:
        taggram = net(x_check)["taggram"].float()
        result = {"taggram_max_abs_diff_vs_full_fp32": float((taggram - expected).abs().max()),
                  "top_tag_same": float((taggram.argmax(1) == expected.argmax(1)).float().mean()), "batches": {}}
        for batch in batches:
            x = patches(batch)
            row = {}
            for threads, clock, key in ((1, time.thread_time, "cpu_1_thread"), (1, time.perf_counter, "wall_1_thread"),
                                        (2, time.perf_counter, "wall_2_threads")):
                torch.set_num_threads(threads)
                patches_per_s = rate(lambda: net(x), batch, seconds, clock)
                row[key] = {"patches_per_s": round(patches_per_s, 1),
                            "songs_per_s": round(patches_per_s / PATCHES_PER_SONG, 2)}
            result["batches"][str(batch)] = row
    return result


class _Outputs(nn.Module):
    """A network's output dict as a tuple, for the ONNX exporter."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return tuple(self.net(x).values())


def measure_onnxruntime(net: nn.Module, batches: list[int], seconds: float, expected: torch.Tensor,
                        x_check: torch.Tensor) -> dict:
    """The same measurements for ``net`` exported to ONNX and run by ONNX Runtime (no spinning threads)."""
    import io
    import warnings

    import onnxruntime

    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Outputs(net).eval(), (x_check[:2],), buffer, dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})
    sessions = {}
    for threads in (1, 2):
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions[threads] = onnxruntime.InferenceSession(buffer.getvalue(), options,
                                                         providers=["CPUExecutionProvider"])
    taggram = torch.from_numpy(sessions[1].run(None, {"x": x_check.numpy()})[0])
    result = {"taggram_max_abs_diff_vs_full_fp32": float((taggram - expected).abs().max()),
              "top_tag_same": float((taggram.argmax(1) == expected.argmax(1)).float().mean()), "batches": {}}
    for batch in batches:
        x = patches(batch).numpy()
        row = {}
        for threads, clock, key in ((1, time.thread_time, "cpu_1_thread"), (1, time.perf_counter, "wall_1_thread"),
                                    (2, time.perf_counter, "wall_2_threads")):
            patches_per_s = rate(lambda: sessions[threads].run(None, {"x": x}), batch, seconds, clock)
            row[key] = {"patches_per_s": round(patches_per_s, 1),
                        "songs_per_s": round(patches_per_s / PATCHES_PER_SONG, 2)}
        result["batches"][str(batch)] = row
    return result


def pipeline_cpu_ms(n_files: int = 10) -> dict:
    """CPU milliseconds per generated 30 s file (one thread) of what comes before the network in the default
    model's pipeline: decoding at 22,050 Hz, the ``coarse_mel`` preset and the ``musicnn_coarse`` adapter,
    cut into patches (after one file to warm up)."""
    coarse, adapter = features.get("coarse_mel"), features.get("musicnn_coarse")
    times = {"decode": 0.0, "coarse_mel": 0.0, "adapter": 0.0}
    with tempfile.TemporaryDirectory() as folder:
        tracks = datasets.load("synthetic", folder, n_per_genre=max(1, n_files // 10), seconds=30.0).tracks
        adapter.compute(audio.load(tracks[0].path, sr=coarse.sr))
        for track in tracks:
            start = time.thread_time()
            y = audio.load(track.path, sr=coarse.sr)
            decoded = time.thread_time()
            db = coarse.compute(y)
            featured = time.thread_time()
            musicnn_input.patches(adapter.from_source(db).T)
            done = time.thread_time()
            times["decode"] += decoded - start
            times["coarse_mel"] += featured - decoded
            times["adapter"] += done - featured
    return {key: round(1000 * value / len(tracks), 2) for key, value in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="musicnn forward speed, full and pruned")
    parser.add_argument("--model", default="MSD_musicnn", choices=list(musicnn.MODELS))
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--chunk", type=int, help="patches per pass for both networks (0: whole batch); "
                                                  "default: each network's own (Musicnn.chunk)")
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    precisions = ["fp32"] + (["bf16"] if resolve_precision("auto", torch.device("cpu")) == "bf16" else [])
    networks = {"full": musicnn.load(args.model), "pruned": musicnn_prune.load(args.model)}
    if args.chunk is not None:
        for net in networks.values():
            net.chunk = args.chunk or None
    x_check = patches(100)
    with torch.inference_mode():
        expected = networks["full"](x_check)["taggram"]
    results = {}
    for name, net in networks.items():
        results[name] = {"gflop_per_patch": round(gflop_per_patch(net), 4), "chunk": net.chunk}
        if name == "pruned":
            results[name]["front_end_channels_kept"] = len(net.kept)
        for precision in precisions:
            results[name][precision] = measure(net, precision, args.batches, args.seconds, expected, x_check)
    results["pruned"]["onnxruntime_fp32"] = measure_onnxruntime(networks["pruned"], args.batches, args.seconds,
                                                                expected, x_check)
    cores = os.cpu_count()
    torch.set_num_threads(1)
    before = pipeline_cpu_ms()
    network = {name: round(1000 * PATCHES_PER_SONG / r["fp32"]["batches"][str(max(args.batches))]["cpu_1_thread"]
                           ["patches_per_s"], 2) for name, r in results.items()}
    per_song = {name: round(sum(before.values()) + ms, 2) for name, ms in network.items()}
    pipeline = {"cpu_ms_per_song_before_the_network": before, "network_cpu_ms_per_song_fp32": network,
                "songs_per_s_if_every_core_did_only_this": {name: round(cores * 1000 / ms, 1)
                                                             for name, ms in per_song.items()}}
    print(json.dumps({"benchmark": "musicnn", "model": args.model, "patch": [musicnn.N_FRAMES, musicnn.N_MELS],
                      "check_inputs": "musicnn reference (10 real excerpts)" if REFERENCE.is_file() else "random",
                      "cpu_bf16_native": "bf16" in precisions, "torch": torch.__version__, "cores": cores,
                      "budget": {"songs_per_s": 60, "cpu_ms_per_song": round(cores * 1000 / 60, 1)},
                      "pipeline_estimate": pipeline,
                      "load_1min": [round(load, 2), round(os.getloadavg()[0], 2)], "networks": results}, indent=1))


if __name__ == "__main__":
    main()
