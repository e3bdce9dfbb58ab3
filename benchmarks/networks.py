"""Forward-pass speed of the registered networks on the CPU, as ``genrekit predict`` runs them.

fp32, batch 256, input ``[256, 128, 39]`` (the bundled model's coarse-mel clips), inference mode,
warm-up first. Two figures per network: wall-clock clips/s with 2 torch threads (median of 5
windows of 2 s; sensitive to other processes on the machine), and clips per second of this
process's own CPU time on 1 thread (much less sensitive to them). Prints one JSON object.

    python benchmarks/networks.py [MODEL ...]      # default: zhang2016_nnet1 yang2019_net2 dong2018
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from genrekit import models


def measure(name: str) -> dict:
    model = models.build(name, n_bands=128, n_frames=39, n_classes=10).eval().float()
    x = torch.randn(256, 128, 39) * 10 - 40
    torch.set_num_threads(2)
    with torch.inference_mode():
        for _ in range(5):
            model(x)
        rates = []
        for _ in range(5):
            start, n = time.perf_counter(), 0
            while time.perf_counter() - start < 2.0:
                model(x)
                n += 256
            rates.append(n / (time.perf_counter() - start))
        torch.set_num_threads(1)
        model(x)
        cpu, n = time.process_time(), 0
        while time.process_time() - cpu < 4.0:
            model(x)
            n += 256
        per_cpu_second = n / (time.process_time() - cpu)
    parameters = sum(p.numel() for p in model.parameters())
    return {"parameters": parameters, "megabytes_fp32": round(parameters * 4 / 1e6, 2),
            "clips_per_s_2_threads_median": round(sorted(rates)[2]), "clips_per_cpu_second_1_thread": round(per_cpu_second)}


def main() -> None:
    names = sys.argv[1:] or ["zhang2016_nnet1", "yang2019_net2", "dong2018"]
    load = os.getloadavg()[0]
    results = {name: measure(name) for name in names}
    print(json.dumps({"benchmark": "networks", "input": [256, 128, 39], "precision": "fp32",
                      "load_1min": [round(load, 2), round(os.getloadavg()[0], 2)], "networks": results}, indent=2))


if __name__ == "__main__":
    main()
