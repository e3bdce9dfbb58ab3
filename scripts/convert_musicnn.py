"""Convert musicnn's pretrained TensorFlow checkpoints into the PyTorch weights genrekit ships.

Usage: python scripts/convert_musicnn.py [--wheel musicnn-0.1.0-py3-none-any.whl] [--out DIR]

Without --wheel, the pinned wheel (PyPI musicnn==0.1.0, SHA-256 checked) is fetched with
``pip download --no-deps`` into a temporary folder. Writes ``MSD_musicnn.pt`` and ``MTT_musicnn.pt``
(plain float32 state_dicts of genrekit.models.musicnn.Musicnn), the package's ISC licence as LICENSE.md,
and README.md naming the source, into DIR (default: src/genrekit/pretrained/musicnn). No TensorFlow needed:
genrekit.models.tf_checkpoint reads the checkpoints. Prints what it wrote as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from genrekit.models import musicnn

README = """# musicnn weights

Converted from the TensorFlow checkpoints of **musicnn 0.1.0** (PyPI wheel `{wheel}`, SHA-256 `{sha256}`),
by Jordi Pons and Xavier Serra, Music Technology Group, Universitat Pompeu Fabra; ISC licence, reproduced
in `LICENSE.md` (the wheel's own licence file). Source: <https://github.com/jordipons/musicnn>.

- `MSD_musicnn.pt`: trained on the Million Song Dataset (50 Last.fm tags, `musicnn.MSD_LABELS`).
- `MTT_musicnn.pt`: trained on MagnaTagATune (50 tags, `musicnn.MTT_LABELS`).

Each is a plain PyTorch `state_dict` of `genrekit.models.musicnn.Musicnn` (float32; the batch norms'
`num_batches_tracked` counters are int64 zeros), written by `scripts/convert_musicnn.py`; load one with
`genrekit.models.musicnn.load("MSD_musicnn")`. Cite: J. Pons, X. Serra, "musicnn: pre-trained convolutional
neural networks for music audio tagging", ISMIR 2019 late-breaking/demo, arXiv:1909.06654.
"""


def download_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", str(folder), "musicnn==0.1.0"], check=True)
    return folder / musicnn.WHEEL


def convert(wheel: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in musicnn.MODELS:
        path = out / f"{name}.pt"
        torch.save(musicnn.convert_wheel(wheel, name), path)
        written[name] = {"path": str(path), "bytes": path.stat().st_size,
                         "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    with zipfile.ZipFile(wheel) as archive:
        (out / "LICENSE.md").write_bytes(archive.read("musicnn-0.1.0.dist-info/LICENSE.md"))
    (out / "README.md").write_text(README.format(wheel=musicnn.WHEEL, sha256=musicnn.WHEEL_SHA256))
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl (default: pip download)")
    parser.add_argument("--out", type=Path, default=musicnn.WEIGHTS_DIR)
    args = parser.parse_args(argv)
    if args.wheel is not None:
        print(json.dumps(convert(args.wheel, args.out), indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(convert(download_wheel(Path(tmp)), args.out), indent=2))


if __name__ == "__main__":
    main()
