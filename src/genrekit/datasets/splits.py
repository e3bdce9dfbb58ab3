"""Train / validation / test splits, always at track level.

Every split assigns whole tracks, so the clips of one track never end up on two sides
of a split (the leak that inflates many published GTZAN numbers). All splits are
stratified by genre and deterministic for a given seed, whatever order the tracks come in.

- :func:`holdout`: stratified holdout with any ratios: ``8/1/1`` (Yang & Zhang 2019, sec. 4.1),
  ``7/3`` (Wang, sec. IV-A), ``5/2/3`` (Dong 2018, "Methods").
- :func:`kfold`: stratified k-fold; with ``valid_folds=1`` and ``k=10`` each fold is the
  80/10/10 train/valid/test of Senac et al. 2017 (sec. 4.2).
- :func:`repeated_holdout`: the same holdout with several seeds (Yang & Zhang: 10 runs).
- :func:`filtered`: GTZAN's artist-filtered split (Kereliuk, Sturm & Larsen 2015), 443/197/290.
- :func:`parse`: a split written as text, ``"holdout:8/1/1"``, ``"holdout:8/1/1x10"``,
  ``"kfold:10"``, ``"filtered"``, ``"filtered:dev"``, for the command line and recipes.
- :func:`filtered_dev`: the filtered split when the test list is absent (coarse-mel): filtered
  valid becomes the test set, 10 % of filtered train the validation set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Sequence

import numpy as np

from genrekit.datasets.base import Track
from genrekit.errors import ConfigError, DatasetError

__all__ = ["Split", "holdout", "repeated_holdout", "kfold", "filtered", "filtered_dev", "filtered_lists", "parse"]


@dataclass(frozen=True)
class Split:
    """A partition of tracks into train, validation and test.

    Attributes
    ----------
    name : str
        How it was made, e.g. ``"holdout 8/1/1 seed 0"``, ``"kfold 3/10 seed 0"``, ``"filtered"``.
    train, valid, test : tuple of Track
        ``valid`` is empty for two-way splits such as 7/3.
    excluded : tuple of str
        Ids of the input tracks that the split leaves out (``filtered`` only).
    missing : tuple of str
        Ids the split's list names that were not among the input tracks (``filtered`` only).
    """

    name: str
    train: tuple[Track, ...]
    valid: tuple[Track, ...]
    test: tuple[Track, ...]
    excluded: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def __post_init__(self):
        seen: dict[str, str] = {}
        for part in ("train", "valid", "test"):
            for track in getattr(self, part):
                if track.id in seen:
                    raise DatasetError(f"split {self.name}: track {track.id} is in both "
                                       f"{seen[track.id]} and {part}")
                seen[track.id] = part

    @property
    def parts(self) -> dict[str, tuple[Track, ...]]:
        """``{"train": ..., "valid": ..., "test": ...}``."""
        return {"train": self.train, "valid": self.valid, "test": self.test}

    def summary(self) -> str:
        sizes = ", ".join(f"{k} {len(v)}" for k, v in self.parts.items())
        extra = f", {len(self.excluded)} excluded" if self.excluded else ""
        extra += f", {len(self.missing)} listed but absent" if self.missing else ""
        return f"{self.name}: {sizes}{extra}"


def _by_genre(tracks: Sequence[Track], seed: int) -> dict[str, list[Track]]:
    """Tracks grouped by genre, each group in a seeded random order independent of input order."""
    groups: dict[str, list[Track]] = {}
    for track in sorted(tracks, key=lambda t: t.id):
        groups.setdefault(track.genre, []).append(track)
    rng = np.random.default_rng(seed)
    for genre in sorted(groups):
        order = rng.permutation(len(groups[genre]))
        groups[genre] = [groups[genre][i] for i in order]
    return groups


def _allocate(n: int, ratios: Sequence[Fraction]) -> list[int]:
    """Split ``n`` items by ``ratios`` (summing to 1) with the largest-remainder method."""
    exact = [n * r for r in ratios]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def _ratios(ratios: Sequence[float]) -> list[Fraction]:
    if len(ratios) not in (2, 3) or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ConfigError(f"split ratios must be 2 (train/test) or 3 (train/valid/test) "
                          f"non-negative numbers, got {list(ratios)}")
    total = sum(Fraction(str(r)) for r in ratios)
    return [Fraction(str(r)) / total for r in ratios]


def holdout(tracks: Sequence[Track], ratios: Sequence[float] = (8, 1, 1), seed: int = 0) -> Split:
    """Stratified holdout at track level.

    Parameters
    ----------
    tracks : sequence of Track
    ratios : 2 or 3 numbers
        Train/test or train/valid/test proportions, e.g. ``(8, 1, 1)``, ``(7, 3)``, ``(5, 2, 3)``.
        Within each genre the counts follow the ratios as closely as integers allow.
    seed : int

    Returns
    -------
    Split
    """
    fractions = _ratios(ratios)
    parts: list[list[Track]] = [[] for _ in fractions]
    for group in _by_genre(tracks, seed).values():
        start = 0
        for part, count in zip(parts, _allocate(len(group), fractions)):
            part.extend(group[start:start + count])
            start += count
    if len(parts) == 2:
        parts.insert(1, [])
    label = "/".join(f"{r:g}" for r in ratios)
    return Split(f"holdout {label} seed {seed}", *(tuple(sorted(p, key=lambda t: t.id)) for p in parts))


def repeated_holdout(tracks: Sequence[Track], ratios: Sequence[float] = (8, 1, 1),
                     runs: int = 10, seed: int = 0) -> list[Split]:
    """``runs`` stratified holdouts with seeds ``seed, seed + 1, ...`` (Yang & Zhang: 8/1/1 x 10)."""
    if runs < 1:
        raise ConfigError(f"runs must be at least 1, got {runs}")
    return [holdout(tracks, ratios, seed + i) for i in range(runs)]


def kfold(tracks: Sequence[Track], k: int = 10, seed: int = 0, valid_folds: int = 1) -> list[Split]:
    """Stratified k-fold cross-validation at track level.

    Each genre's tracks are shuffled and dealt round-robin into ``k`` folds, so every fold
    has the same genre balance (to within one track). Split ``i`` tests on fold ``i``,
    validates on the next ``valid_folds`` folds (cyclically) and trains on the rest.

    Parameters
    ----------
    tracks : sequence of Track
    k : int
        Number of folds, at least 2.
    seed : int
    valid_folds : int
        0 for train/test folds; 1 with ``k=10`` gives Senac's 80/10/10.

    Returns
    -------
    list of Split
        ``k`` splits; every track is in exactly one test fold.
    """
    if k < 2 or valid_folds < 0 or valid_folds > k - 2:
        raise ConfigError(f"kfold needs k >= 2 and 0 <= valid_folds <= k - 2, got k={k}, valid_folds={valid_folds}")
    folds: list[list[Track]] = [[] for _ in range(k)]
    offset = 0
    for group in _by_genre(tracks, seed).values():
        # Rotate the dealing start per genre so small genres do not all pile into fold 0.
        for j, track in enumerate(group):
            folds[(offset + j) % k].append(track)
        offset += len(group)
    splits = []
    for i in range(k):
        valid_ids = {(i + 1 + v) % k for v in range(valid_folds)}
        train = [t for f in range(k) if f != i and f not in valid_ids for t in folds[f]]
        valid = [t for f in sorted(valid_ids) for t in folds[f]]
        splits.append(Split(f"kfold {i + 1}/{k} seed {seed}",
                            *(tuple(sorted(p, key=lambda t: t.id)) for p in (train, valid, folds[i]))))
    return splits


def filtered_lists() -> dict[str, tuple[str, ...]]:
    """The artist-filtered lists shipped with genrekit: ``{"train": ids, "valid": ids, "test": ids}``.

    From C. Kereliuk, B. L. Sturm, J. Larsen, "Deep learning and music adversaries",
    IEEE Trans. Multimedia 17(11), 2015 (443 / 197 / 290 tracks; 70 faulty tracks in none).
    """
    text = resources.files("genrekit.datasets").joinpath("data/gtzan_filtered.txt").read_text()
    lists: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            part, track_id = line.split()
            lists[part].append(track_id)
    return {k: tuple(v) for k, v in lists.items()}


def _gtzan_name(track: Track) -> str:
    """The GTZAN name of a track, whatever collection it comes from (``blues/blues.00001`` -> ``blues.00001``)."""
    return track.id.rsplit("/", 1)[-1]


def filtered(tracks: Sequence[Track]) -> Split:
    """GTZAN's artist-filtered split (Kereliuk, Sturm & Larsen 2015).

    Tracks are matched by GTZAN name (``blues.00029``), so any collection of GTZAN files
    works. Input tracks on no list are ``excluded``; listed tracks not in the input (e.g.
    the damaged ``jazz.00054.wav``) are ``missing``.
    """
    lists = filtered_lists()
    by_name = {_gtzan_name(t): t for t in tracks}
    parts = {p: tuple(by_name[i] for i in ids if i in by_name) for p, ids in lists.items()}
    listed = {i for ids in lists.values() for i in ids}
    excluded = tuple(sorted(n for n in by_name if n not in listed))
    missing = tuple(i for ids in lists.values() for i in ids if i not in by_name)
    if not any(parts.values()):
        raise DatasetError("none of the tracks is on the GTZAN artist-filtered lists; "
                           "the filtered split needs GTZAN tracks named like blues.00029")
    return Split("filtered", parts["train"], parts["valid"], parts["test"], excluded, missing)


def filtered_dev(tracks: Sequence[Track], inner: float = 0.1, seed: int = 0) -> Split:
    """The artist-filtered split for data without the test list (e.g. ``gtzan-coarse-mel``).

    The filtered valid list becomes the test set; a stratified ``inner`` share of the
    filtered train list (seeded) is held out as validation for early stopping and model
    choices, so the reported accuracy is never measured on tracks that chose the model.
    The test tracks share no artist with the training or validation tracks. The inner
    validation tracks do share artists with the training tracks (the lists give no artist
    names to split them by), so validation accuracy here is optimistic and only serves to
    choose epochs; the test accuracy is the honest figure.
    """
    base = filtered(tracks)
    inner_split = holdout(base.train, (1 - inner, inner), seed)
    return Split(f"filtered-dev (train {1 - inner:g} / inner valid {inner:g} of filtered train, "
                 f"test = filtered valid) seed {seed}",
                 inner_split.train, inner_split.test, base.valid, base.excluded, base.missing)


_HOLDOUT = re.compile(r"^holdout:(?P<ratios>[\d.]+(?:/[\d.]+){1,2})(?:x(?P<runs>\d+))?$")
_KFOLD = re.compile(r"^kfold:(?P<k>\d+)(?:/valid(?P<valid>\d+))?$")


def parse(spec: str, tracks: Sequence[Track], seed: int = 0) -> list[Split]:
    """Make the splits a text spec describes.

    ``holdout:8/1/1`` (one split), ``holdout:8/1/1x10`` (10 seeds), ``kfold:10``
    (10 folds with one validation fold each, i.e. 80/10/10), ``kfold:5/valid0``
    (train/test folds), ``filtered``, ``filtered:dev`` (:func:`filtered_dev`).
    """
    text = spec.strip().lower()
    if text == "filtered":
        return [filtered(tracks)]
    if text == "filtered:dev":
        return [filtered_dev(tracks, seed=seed)]
    match = _HOLDOUT.match(text)
    if match:
        ratios = [float(r) for r in match.group("ratios").split("/")]
        return repeated_holdout(tracks, ratios, int(match.group("runs") or 1), seed)
    match = _KFOLD.match(text)
    if match:
        valid = match.group("valid")
        return kfold(tracks, int(match.group("k")), seed, 1 if valid is None else int(valid))
    raise ConfigError(f"unknown split {spec!r}; use holdout:8/1/1, holdout:7/3, holdout:8/1/1x10, "
                      "kfold:10, kfold:5/valid0, filtered or filtered:dev")
