"""The filters a network has learned, estimated as spectro-temporal receptive fields (STRFs).

Dong 2018, "Calculate the filters learned by the CNN": the tracks are cut into 3 s segments
with 10 % overlap and fed to the trained network; for a unit ``c(l)_{i,j}`` (a channel of
layer ``l`` at position ``(i, j)``),

1. the section of the input that can reach it is its receptive field
   (:mod:`genrekit.explain.receptive`);
2. a Lasso regression predicts the unit's activation from that section, flattened;
3. the coefficients, reshaped to ``[bands, frames]``, are the estimated filter.

The Lasso penalty is chosen by cross-validation (``LassoCV``, folds by track when the
segments' tracks are given, so that neighbouring segments of a track do not sit on both
sides of a fold), and each fit's R^2 is measured on segments of tracks held out of the fit:
an R^2 near 1 says the unit is close to a linear filter of its input; a low one says the
filter drawn is a poor summary of what the unit does (ReLUs and max-pooling are not linear).

The regressors are the input the network sees, i.e. the features after the run's per-band
standardisation, so the coefficients of different bands are comparable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from genrekit.errors import ConfigError
from genrekit.explain.activations import INPUT, record
from genrekit.explain.receptive import Field, network_fields
from genrekit.features.clips import clip_frames
from genrekit.plotting import new_figure, save_png

__all__ = ["OVERLAP", "FilterFit", "Strf", "fit_filter", "learned_filters", "plot_filters", "segments"]

#: Dong 2018, "Calculate the filters learned by the CNN": "3-second segments with 10% overlap".
OVERLAP = 0.1


def segments(features: np.ndarray, frames: int, overlap: float = OVERLAP, name: str | None = None) -> np.ndarray:
    """Cut a track into segments of ``frames`` frames overlapping by ``overlap``.

    Parameters
    ----------
    features : np.ndarray [shape=(bands, n_frames)]
    frames : int
        Segment length (the network's clip: 3 s in Dong's preset).
    overlap : float
        Fraction of a segment shared with the next, in [0, 1).
    name : str, optional
        The track, for the error message.

    Returns
    -------
    np.ndarray [shape=(n_segments, bands, frames)], a view

    Raises
    ------
    FeatureError
        If the track is shorter than one segment.
    """
    if not 0 <= overlap < 1:
        raise ConfigError(f"overlap must be in [0, 1), got {overlap}")
    hop = max(1, frames - int(round(overlap * frames)))
    return clip_frames(features, frames, hop, short="reject", name=name)


@dataclass
class FilterFit:
    """One Lasso fit: ``coef`` [shape=(n_regressors,)], the chosen ``alpha``, R^2 held out and in the fit."""

    coef: np.ndarray
    intercept: float
    alpha: float
    r2: float
    r2_fit: float


def _held_out(n: int, groups: np.ndarray | None, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of the samples held out: a ``fraction`` of the groups (of the samples if no groups)."""
    if groups is None:
        groups = np.arange(n)
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ConfigError("fitting a filter needs segments of at least 2 tracks (one held out)")
    chosen = rng.choice(unique, size=max(1, int(round(fraction * len(unique)))), replace=False)
    return np.isin(groups, chosen)


def fit_filter(patches: np.ndarray, target: np.ndarray, groups: np.ndarray | None = None, *, cv: int = 5,
               n_alphas: int = 30, held_out: float = 0.2, seed: int = 0) -> FilterFit:
    """Lasso regression of a unit's activation on its input patch, penalty by cross-validation.

    Parameters
    ----------
    patches : np.ndarray [shape=(n_segments, n_regressors)]
        The unit's receptive field in each segment, flattened.
    target : np.ndarray [shape=(n_segments,)]
        The unit's activation.
    groups : np.ndarray [shape=(n_segments,)], optional
        Track of each segment: held-out segments and CV folds are whole tracks.
    cv : int
        Cross-validation folds for the penalty.
    n_alphas : int
        Penalties tried (log-spaced from the one that zeroes every coefficient).
    held_out : float
        Fraction of the tracks (segments) kept out of the fit to measure ``r2``.
    seed : int

    Returns
    -------
    FilterFit
        ``r2`` on the held-out segments (nan when their activation is constant).
    """
    from sklearn.linear_model import LassoCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold, KFold

    patches = np.asarray(patches, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if patches.ndim != 2 or target.shape != (patches.shape[0],):
        raise ConfigError(f"patches must be [n, d] and target [n], got {patches.shape} and {target.shape}")
    rng = np.random.default_rng(seed)
    test = _held_out(len(target), None if groups is None else np.asarray(groups), held_out, rng)
    train = ~test
    n_groups = len(np.unique(groups[train])) if groups is not None else int(train.sum())
    folds = min(cv, n_groups)
    if folds < 2:
        raise ConfigError("fitting a filter needs at least 3 tracks (2 to cross-validate, 1 held out)")
    if np.ptp(target[train]) == 0:  # a unit that never changes (e.g. a dead ReLU): nothing to explain
        return FilterFit(np.zeros(patches.shape[1]), float(target[train][0]), float("nan"), float("nan"),
                         float("nan"))
    splitter = GroupKFold(folds) if groups is not None else KFold(folds, shuffle=True, random_state=seed)
    split = list(splitter.split(patches[train], target[train], None if groups is None else groups[train]))
    lasso = LassoCV(alphas=n_alphas, cv=split, max_iter=5000, tol=1e-3, random_state=seed)
    lasso.fit(patches[train], target[train])
    r2 = r2_score(target[test], lasso.predict(patches[test])) if np.ptp(target[test]) > 0 else float("nan")
    return FilterFit(lasso.coef_.copy(), float(lasso.intercept_), float(lasso.alpha_), float(r2),
                     float(lasso.score(patches[train], target[train])))


@dataclass
class Strf:
    """Estimated filters of some units of one layer.

    Attributes
    ----------
    layer : str
    channels : np.ndarray [shape=(n_units,)], int
        The channel (kernel) of each unit.
    position : (int, int)
        The unit's ``(band, frame)`` position in the layer's output (one for all channels).
    region : (slice, slice)
        Input bands and frames the units see.
    field : Field
    filters : np.ndarray [shape=(n_units, bands, frames)]
        Lasso coefficients reshaped (zero for units that never changed).
    alphas, r2, r2_fit : np.ndarray [shape=(n_units,)]
        Chosen penalty, R^2 on held-out tracks, R^2 on the fitted segments.
    n_segments : int
    """

    layer: str
    channels: np.ndarray
    position: tuple[int, int]
    region: tuple[slice, slice]
    field: Field
    filters: np.ndarray
    alphas: np.ndarray
    r2: np.ndarray
    r2_fit: np.ndarray
    n_segments: int

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for ``np.savez``, keys prefixed with the layer name."""
        region = np.array([self.region[0].start, self.region[0].stop, self.region[1].start, self.region[1].stop])
        return {f"{self.layer}.{k}": v for k, v in {
            "filters": self.filters, "channels": self.channels, "alphas": self.alphas, "r2": self.r2,
            "r2_fit": self.r2_fit, "position": np.array(self.position), "region": region,
            "all_bands": np.array(self.field.all_bands)}.items()}


def _centre_unit(field: Field, map_shape: tuple[int, int], input_shape: tuple[int, int]) -> tuple[int, int]:
    """The unit nearest the middle of the map whose field lies inside the input."""
    inside = [(b, f) for b in range(map_shape[0]) for f in range(map_shape[1]) if field.inside(b, f, input_shape)]
    if not inside:
        raise ConfigError(f"no unit's receptive field ({field.describe()}) fits inside segments of "
                          f"{input_shape[0]} bands x {input_shape[1]} frames; use longer segments or an earlier layer")
    middle = ((map_shape[0] - 1) / 2, (map_shape[1] - 1) / 2)
    return min(inside, key=lambda p: (p[0] - middle[0]) ** 2 + (p[1] - middle[1]) ** 2)


def learned_filters(model: nn.Module, clips: np.ndarray, layer: str, *, channels: Sequence[int] | None = None,
                    n_units: int = 6, groups: np.ndarray | None = None, seed: int = 0, cv: int = 5,
                    n_alphas: int = 30) -> Strf:
    """Estimate the filters of some channels of a layer (Dong 2018's Lasso method).

    Parameters
    ----------
    model : nn.Module
        A trained run's model or a bare network.
    clips : np.ndarray [shape=(n_segments, bands, frames)]
        Segments of the network's input length (:func:`segments`).
    layer : str
        A convolutional layer (:func:`genrekit.explain.activations.layer_names`, not
        ``input`` / ``hidden``).
    channels : sequence of int, optional
        Channels to explain; default the ``n_units`` whose activation varies most.
    n_units : int
    groups : np.ndarray [shape=(n_segments,)], optional
        Track of each segment (folds and held-out tracks are whole tracks).
    seed, cv, n_alphas
        See :func:`fit_filter`.

    Returns
    -------
    Strf
    """
    fields = network_fields(model)
    if layer not in fields:
        raise ConfigError(f"{layer!r} is not a convolutional layer of {type(getattr(model, 'net', model)).__name__}; "
                          f"choose from {', '.join(fields)}")
    acts = record(model, clips, [INPUT, layer])
    x, a = acts[INPUT], acts[layer]
    if a.ndim == 3:  # 1-D layer: [n, channels, frames], one "band" of units
        a = a[:, :, None, :]
    field = fields[layer]
    band, frame = _centre_unit(field, a.shape[2:], x.shape[1:])
    region = field.region(band, frame)
    patches = x[:, region[0], region[1]].reshape(len(x), -1)
    units = a[:, :, band, frame]
    if channels is None:
        channels = np.argsort(-units.var(axis=0), kind="stable")[:n_units]
    channels = np.asarray(channels, dtype=np.int64)
    if channels.size == 0 or channels.min() < 0 or channels.max() >= units.shape[1]:
        raise ConfigError(f"layer {layer} has channels 0-{units.shape[1] - 1}, got {channels.tolist()}")
    fits = [fit_filter(patches, units[:, c], groups, cv=cv, n_alphas=n_alphas, seed=seed) for c in channels]
    shape = (region[0].stop - region[0].start, region[1].stop - region[1].start)
    return Strf(layer, channels, (band, frame), region, field,
                np.stack([f.coef.reshape(shape) for f in fits]).astype(np.float32),
                np.array([f.alpha for f in fits]), np.array([f.r2 for f in fits]),
                np.array([f.r2_fit for f in fits]), len(x))



def plot_filters(results: Sequence[Strf], path: str | os.PathLike, *, title: str = "") -> Path:
    """Draw estimated filters as a grid, one row per layer, one column per unit, as a PNG.

    Each filter is drawn bands (low to high) up, frames (latency) right, in a diverging map
    symmetric about 0 (red: the unit rises with energy there; blue: it falls); the panel's
    title gives the channel, the held-out R^2 and the chosen penalty.

    Parameters
    ----------
    results : sequence of Strf
    path : path-like
    title : str

    Returns
    -------
    pathlib.Path
    """
    if not results:
        raise ConfigError("no filters to draw")
    columns = max(len(r.channels) for r in results)
    figure = new_figure(1.9 * columns + 0.6, 2.4 * len(results) + 0.6)
    for row, result in enumerate(results):
        bands, frames = result.region
        for col, channel in enumerate(result.channels):
            axes = figure.add_subplot(len(results), columns, row * columns + col + 1)
            values = result.filters[col]
            limit = float(np.abs(values).max()) or 1.0
            axes.imshow(values, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                        extent=(frames.start - 0.5, frames.stop - 0.5, bands.start - 0.5, bands.stop - 0.5),
                        interpolation="nearest")
            r2 = "n/a" if not np.isfinite(result.r2[col]) else f"{result.r2[col]:.2f}"
            axes.set_title(f"{result.layer} ch {channel}\nR^2 {r2}, alpha {result.alphas[col]:.2g}", fontsize=8)
            axes.tick_params(labelsize=6)
            if col == 0:
                axes.set_ylabel("all bands" if result.field.all_bands else "band", fontsize=7)
            if row == len(results) - 1:
                axes.set_xlabel("input frame", fontsize=7)
    figure.suptitle(title or "Lasso estimates of learned filters (R^2 on held-out tracks)", fontsize=10)
    figure.tight_layout()
    return save_png(figure, path)
