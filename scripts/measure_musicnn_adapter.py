"""Measure the constants of the coarse-mel -> musicnn adapter on the ten real GTZAN excerpts.

    python scripts/measure_musicnn_adapter.py [../shared/data/gtzan-samples]

Prints JSON: the loudest cell (dB, 2048-point mel power) of each excerpt and their median
(``PEAK_DB``), and the per-band difference (dB) between the time-averaged spectrum of musicnn's real
input and the 128-band full-resolution mel projected without gains (median over the excerpts):
its median over bands 0-93 is ``GAIN_DB``'s measured part, the top two bands' excess ``TOP_BAND_DB``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from genrekit import audio
from genrekit.features import musicnn_input as mi, spectral

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


def main(folder: Path) -> dict:
    # The projection without the measured gains: undo them band by band.
    gains = np.full(mi.N_MELS, mi.GAIN_DB)
    gains[-len(mi.TOP_BAND_DB):] += mi.TOP_BAND_DB
    projection = mi.coarse_projection() / 10 ** (gains / 10)[:, None] * (512 / 2048) ** 2
    peaks, differences = [], []
    for genre in GENRES:
        path = folder / f"{genre}.00000.wav"
        coarse = spectral.mel_spectrogram(audio.load(path, sr=mi.COARSE_SR), mi.COARSE_SR, mi.COARSE_N_FFT,
                                          mi.COARSE_HOP, mi.COARSE_MELS)
        real = spectral.mel_spectrogram(audio.load(path, sr=mi.SR), mi.SR, mi.N_FFT, mi.HOP, mi.N_MELS)
        peaks.append(float(10 * np.log10(coarse.max())))
        differences.append(10 * np.log10(real.mean(axis=1) / (projection @ coarse).mean(axis=1)))
    per_band = np.median(differences, axis=0)
    below = float(np.median(per_band[:-2]))
    return {"peak_db_per_clip": np.round(peaks, 2).tolist(), "peak_db_median": round(float(np.median(peaks)), 2),
            "sinusoid_gain_db": round(20 * np.log10(512 / 2048), 2),
            "measured_gain_db_bands_0_93": round(below, 2),
            "spread_db_bands_0_93": round(float(np.std(per_band[:-2])), 2),
            "top_band_db": [round(float(v - below), 2) for v in per_band[-2:]]}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/gtzan-samples")), indent=1))
