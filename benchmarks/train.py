"""Training speed: clips per second for every network, and net1 epochs on a GTZAN-sized set.

Measures, on this machine's CPU (or the GPU with ``--device cuda``):

- for every registered network at its paper input (or those given by ``--models``): training
  clips per second (forward, backward and optimiser step with the paper's optimiser and batch
  size) and the process's CPU seconds per step, in float32 and with bfloat16 autocast;
- seconds per epoch of ``yang2019_net1`` through the real engine (:func:`genrekit.training.fit`)
  on a GTZAN-sized set: 800 training tracks x 19 clips (generated feature arrays of
  256 bands x 1293 frames) plus 100 validation tracks, and the time a 30-epoch run takes.

Prints one JSON object. Target (issue "models and training engine"): a 30-epoch net1 run on
GTZAN in under 20 minutes on the 2-core CPU.

    python benchmarks/train.py [--steps 6] [--epoch-tracks 800] [--skip-epoch] [--models NAME ...] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np
import torch


def step_seconds(name: str, steps: int, device: torch.device, bf16: bool) -> tuple[float, float]:
    """Wall-clock and process CPU seconds per training step (after one warm-up step)."""
    from genrekit import models
    from genrekit.training import make_optimizer

    info = models.info(name)
    model = models.build(name).to(device)
    optimizer = make_optimizer(model.parameters(), info.optimizer)
    batch = info.batch_size
    x = torch.randn(batch, info.n_bands, info.n_frames, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x).float(), y) + models.regularization(model).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up (allocations, kernel choice)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / steps, (time.process_time() - cpu) / steps


def net1_epoch(tracks: int, device: str, precision: str) -> dict:
    from genrekit.data import TrackData
    from genrekit.training import TrainConfig, fit

    rng = np.random.default_rng(0)

    def data(n, seed):
        r = np.random.default_rng(seed)
        return TrackData([f"t{seed}-{i}" for i in range(n)],
                         [r.normal(-40, 10, (256, 1293)).astype(np.float32) for _ in range(n)],
                         r.integers(0, 10, n))

    train, valid = data(tracks, 1), data(100, 2)
    del rng
    config = TrainConfig(model="yang2019_net1", epochs=1, device=device, precision=precision)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        metrics = fit(config, [str(i) for i in range(10)], train, valid, TrackData([], [], np.zeros(0, int)),
                      128, 64, out, progress=False)
        total = time.perf_counter() - start
    return {"precision": metrics["precision"], "train_tracks": tracks, "train_clips": tracks * 19, "valid_tracks": 100,
            "epoch_seconds": round(metrics["train_seconds"], 1), "with_setup_seconds": round(total, 1),
            "projected_30_epochs_minutes": round(30 * metrics["train_seconds"] / 60, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6, help="timed optimiser steps per network (default 6)")
    parser.add_argument("--epoch-tracks", type=int, default=800, help="training tracks of the net1 epoch")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--skip-epoch", action="store_true", help="only the per-network clip rates")
    parser.add_argument("--models", nargs="+", default=None, help="networks to time (default: every registered one)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    args = parser.parse_args()

    from genrekit import models

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rates = {}
    for name in args.models or [n for n in models.names(kind="network") if not n.startswith("test_")]:
        batch = models.info(name).batch_size
        rates[name] = {"batch_size": batch, "input": [models.info(name).n_bands, models.info(name).n_frames]}
        for precision, bf16 in (("fp32", False), ("bf16_autocast", True)):
            wall, cpu = step_seconds(name, args.steps, device, bf16)
            rates[name].update({f"{precision}_clips_per_s": round(batch / wall, 1),
                                f"{precision}_cpu_s_per_step": round(cpu, 3)})
    output = {"benchmark": "train", "device": args.device, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "platform": platform.platform(), "networks": rates}
    if not args.skip_epoch:
        for precision in ("auto", "fp32"):
            output[f"yang2019_net1_epoch_{precision}"] = net1_epoch(args.epoch_tracks, args.device, precision)
        minutes = output["yang2019_net1_epoch_auto"]["projected_30_epochs_minutes"]
        output["target"] = {"net1_30_epochs_minutes": {"target": 20, "measured": minutes, "met": minutes < 20,
                                                       "precision": output["yang2019_net1_epoch_auto"]["precision"]}}
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
