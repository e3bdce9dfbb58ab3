"""Checks shared by the commands' options.

Click's ``FloatRange`` lets ``inf`` and ``nan`` through (``nan < 0.5`` is false), and a
non-finite length or rate ends as ``NaN`` in a JSON file or as a crash deep inside; every
float option of the commands is checked here instead, with one line that names it.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import typer

__all__ = ["finite"]


def finite(at_least: float | None = None, above: float | None = None,
           below: float | None = None, at_most: float | None = None) -> Callable[[Optional[float]], Optional[float]]:
    """A typer callback accepting a finite float in a range (``None`` passes: an unset option).

    Parameters
    ----------
    at_least, above : float, optional
        Lower bound, inclusive or exclusive.
    below, at_most : float, optional
        Upper bound, exclusive or inclusive.

    Examples
    --------
    >>> typer.Option(10.0, "--segment-seconds", callback=finite(at_least=0.5))   # doctest: +SKIP
    """
    wanted = [f"at least {at_least:g}" if at_least is not None else "",
              f"greater than {above:g}" if above is not None else "",
              f"less than {below:g}" if below is not None else "",
              f"at most {at_most:g}" if at_most is not None else ""]
    rule = "a finite number" + "".join(f", {w}" for w in wanted if w)

    def check(value: Optional[float]) -> Optional[float]:
        if value is None:
            return value
        if not (math.isfinite(value) and (at_least is None or value >= at_least)
                and (above is None or value > above) and (below is None or value < below)
                and (at_most is None or value <= at_most)):
            raise typer.BadParameter(f"{value} is not allowed; give {rule}")
        return value

    return check
